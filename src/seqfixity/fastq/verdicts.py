"""The verdicts of the FASTQ check and the names of gzip files, apart from the checker: reading them needs no numpy."""

OK = "OK"
SKIPPED = "SKIPPED"
TRUNCATED = "TRUNCATED"
CORRUPT = "CORRUPT"
MALFORMED = "MALFORMED"
FAILED_VERDICTS = frozenset({TRUNCATED, CORRUPT, MALFORMED})
# Names whose content must be gzip (or BGZF).
GZIP_SUFFIXES = (".gz", ".bgz", ".bgzf")
