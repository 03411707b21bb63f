# FASTQ validation runs inside the digest job, fed from the same read as the digests
# (reading every file twice would double the I/O): gzip/BGZF is inflated with isal and
# the records are checked on the second core while MD5 and the ETag are computed.
# This stage chooses how much is checked, from config/config.yaml:
#   validate: none   digests only
#             gzip   inflate, check gzip CRCs and the end-of-stream marker, count reads
#             fastq  also every record's structure (default)
#   naming:   off | warn | strict   ICA file-name lint; strict makes findings failures

VALIDATION_ARGS = f"--validate {SETTINGS.validate} --naming {SETTINGS.naming}"
