"""FASTQ checks from the same bytes as the digests: the validator (``validate``) and its verdicts (``verdicts``)."""
