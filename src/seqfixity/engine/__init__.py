"""The engine: one read per file feeds every digest.

The registry of digest kinds (``hashes``), the reader that feeds them (``digest``), multipart ETag arithmetic
(``etag``), part-size inference (``guess``), S3 composite checksums (``composite``), and the compiled
multi-lane MD5 core (``lanes``, C source in ``_md5lanes.c``).
"""
