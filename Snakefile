# seqfixity: checksum and validate every FASTQ of a run, in parallel and resumable.
#
#   snakemake --workflow-profile workflows/profiles/local            # the example data
#   snakemake --workflow-profile workflows/profiles/local --config inputs='["run42"]'
#
# Reports: results/report.html (one page for people), results/checksums/{sample}_md5.txt,
# results/records/{sample}.jsonl, results/seqfixity.{tsv,json,xlsx}, results/seqfixity_mqc.tsv,
# results/summary.json.
# The rules call the seqfixity command line; they hold no hashing code.

from snakemake.utils import min_version, validate

min_version("8.20")


configfile: "config/config.yaml"


validate(config, "config/schema.yaml")


include: "rules/common.smk"
include: "rules/validate.smk"
include: "rules/checksum.smk"
include: "rules/report.smk"
include: "rules/verify.smk"


rule all:
    default_target: True
    input:
        REPORTS,
        PASSED,
        VERIFY_TARGETS,
