# FASTQ validation runs inside the digest job, fed from the same read as the digests
# (reading every file twice would double the I/O): gzip/BGZF is inflated with isal and
# the records are checked on the second core while MD5 and the ETag are computed.
# This stage chooses how much is checked, from config/config.yaml:
#   validate:    none    digests only
#                gzip    decompress (gzip/BGZF, bzip2, zstd), check CRCs and the end-of-stream marker, count reads
#                fastq   also every record's structure (default)
#                strict  also sequence letters, quality characters 33-126, a repeated '+' title
#   naming:      off | warn | strict   ICA file-name lint; strict makes findings failures
#   sample_id:   illumina | ica | sheet   how files become samples
#   ora_decoder: Illumina's orad command line, to check the FASTQ inside .fastq.ora files

VALIDATION_ARGS = f"--validate {SETTINGS.validate} --naming {SETTINGS.naming} --sample-id {SETTINGS.sample_id}" + (
    f" --ora-decoder {shlex.quote(SETTINGS.ora_decoder)}" if SETTINGS.ora_decoder else ""
)
