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
# failures once, after the checksum stage's block (print_verify_end, called by the workflow's onerror).
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


def print_verify_end(file):
    """Print the verify outcome, its first failures and where the report is, once, when this run's verify report
    is there (verify runs after the reports: a verify.json older than summary.json is an earlier run's)."""
    import json

    from seqfixity.reports.ending import report_block, terminal_lines

    summary = os.path.join(OUTDIR, "summary.json")
    if not VERIFY_TARGETS or not os.path.exists(VERIFY_REPORT):
        return
    if os.path.exists(summary) and os.path.getmtime(VERIFY_REPORT) < os.path.getmtime(summary):
        return
    try:
        with open(VERIFY_REPORT, encoding="utf-8") as handle:
            lines = report_block(json.load(handle), VERIFY_REPORT)
    except (OSError, ValueError, KeyError, TypeError) as err:
        lines = [f"cannot read the verify report ({err})"]
    lines[0] = f"verify against {config['verify_against']}: {lines[0]}"
    print(terminal_lines([*lines, f"verify report: {VERIFY_REPORT}"]), file=file)
