# Verify the local files against the remote that config names (S3, the ICA API or an ICA export),
# once the checksum stage is done. Needs OUTDIR, REPORTS, SEQFIXITY and verify_runtime from rules/common.smk.
#
# config.yaml:
#   verify_against: ""   # s3://bucket/prefix, ica://PROJECT_ID/path or an ICA export (.json/.csv/.xlsx)
#   verify_root: ""      # the local folder that mirrors it (default: the first of `inputs`)
#   verify_args: ""      # more `seqfixity verify` flags, e.g. "--endpoint-url URL --match basename"
#
# `snakemake verify` runs it alone; `all` includes VERIFY_TARGETS (empty when no remote is named).
# The report is kept even when files fail: the JSON is written by `verify_report`, judged by `verify`
# (the verdicts are in the report; the log keeps verify's messages, shown on the terminal when it fails).
# The gate fails quietly (--status: no output, an empty log); onerror prints the verify outcome and its first
# failures once, after the checksum stage's block (print_verify_end in common.smk).
# Files whose digest-stage records ({outdir}/records/*.jsonl) still match their size and mtime, and
# settle every check, are judged from those records instead of being read a second time.

from seqfixity.inputs.discover import verify_root  # noqa: E402

VERIFY_REPORT = os.path.join(OUTDIR, "verify.json")
VERIFIED = os.path.join(OUTDIR, ".seqfixity", "verified")
VERIFY_TARGETS = [VERIFIED] if config.get("verify_against") else []


rule verify_report:
    input:
        REPORTS,
    output:
        VERIFY_REPORT,
    params:
        seqfixity=SEQFIXITY,
        root=lambda wildcards: verify_root(config),
        against=lambda wildcards: config["verify_against"],
        extra=lambda wildcards: config.get("verify_args") or "",
        records=os.path.join(OUTDIR, "records"),
    resources:
        runtime=verify_runtime,
    log:
        os.path.join(OUTDIR, "logs", "verify.log"),
    conda:
        "../envs/seqfixity.yaml"
    shell:
        "set --; if [ -d {params.records:q} ]; then set -- --records {params.records:q}; fi;"
        " code=0; {params.seqfixity} verify {params.root:q} --against {params.against:q} {params.extra} \"$@\""
        " --report {output:q} --quiet --log {log:q} > /dev/null || code=$?;"
        " test -s {output:q} || exit $code"


localrules:
    verify,


rule verify:
    input:
        VERIFY_REPORT,
    output:
        touch(VERIFIED),
    params:
        seqfixity=SEQFIXITY,
    log:
        os.path.join(OUTDIR, "logs", "verify-gate.log"),
    conda:
        "../envs/seqfixity.yaml"
    shell:
        "{params.seqfixity} aggregate --check {input:q} --status --log {log:q}"
