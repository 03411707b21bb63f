"""The verdicts of the FASTQ check, apart from the checker so that reading them needs no numpy."""

OK = "OK"
SKIPPED = "SKIPPED"
TRUNCATED = "TRUNCATED"
CORRUPT = "CORRUPT"
MALFORMED = "MALFORMED"
FAILED_VERDICTS = frozenset({TRUNCATED, CORRUPT, MALFORMED})
