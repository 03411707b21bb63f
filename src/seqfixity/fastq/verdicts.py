"""The verdicts of the FASTQ check, apart from the checker: reading them needs no numpy."""

OK = "OK"
SKIPPED = "SKIPPED"
NOT_VALIDATED = "NOT_VALIDATED"  # digests only: no open decoder (ORA without orad), or not a sequence file
TRUNCATED = "TRUNCATED"
CORRUPT = "CORRUPT"
MALFORMED = "MALFORMED"
FAILED_VERDICTS = frozenset({TRUNCATED, CORRUPT, MALFORMED})
