"""seqfixity: prove sequencing data arrived intact.

One read per file gives MD5, the S3/ICA multipart ETag, xxh3-128 and more::

    >>> from seqfixity import hash_file, ETagHasher
    >>> record = hash_file("sample.fastq.gz")          # doctest: +SKIP
    >>> record.digests["etag"]                          # doctest: +SKIP
"""

from seqfixity.engine.digest import hash_file, hash_files
from seqfixity.engine.etag import ETagHasher
from seqfixity.record import FileRecord
from seqfixity.settings import Settings

__all__ = ["ETagHasher", "FileRecord", "Settings", "hash_file", "hash_files"]
__version__ = "0.1.0"
