# Verify the local files against the remote that config names (S3, the ICA API or an ICA export),
# once the checksum stage is done. Needs OUTDIR, REPORTS and SEQFIXITY from rules/common.smk.
#
# config.yaml:
#   verify_against: ""   # s3://bucket/prefix, ica://PROJECT_ID/path or an ICA export (.json/.csv/.xlsx)
#   verify_root: ""      # the local folder that mirrors it (default: the first of `inputs`)
#   verify_args: ""      # more `seqfixity verify` flags, e.g. "--endpoint-url URL --match basename"
#
# `snakemake verify` runs it alone; `all` includes VERIFY_TARGETS (empty when no remote is named).
# The report is kept even when files fail: the JSON is written by `verify_report`, judged by `verify`.
# Files whose digest-stage records ({outdir}/records/*.jsonl) still match their size and mtime, and
# settle every check, are judged from those records instead of being read a second time.

VERIFY_REPORT = os.path.join(OUTDIR, "verify.json")
VERIFIED = os.path.join(OUTDIR, ".seqfixity", "verified")
VERIFY_TARGETS = [VERIFIED] if config.get("verify_against") else []


def verify_root():
    """The local folder to verify: ``verify_root``, else the first input folder."""
    inputs = config.get("inputs") or []
    root = config.get("verify_root") or (inputs[0] if isinstance(inputs, list) and inputs else inputs)
    if not config.get("verify_against") or not root:
        raise WorkflowError("seqfixity: set verify_against (s3://..., ica://... or an export file) "
                            "and verify_root (or inputs) in config.yaml to verify against a remote")
    return root


rule verify_report:
    input:
        REPORTS,
    output:
        VERIFY_REPORT,
    params:
        seqfixity=SEQFIXITY,
        root=lambda wildcards: verify_root(),
        against=lambda wildcards: config["verify_against"],
        extra=lambda wildcards: config.get("verify_args") or "",
        records=os.path.join(OUTDIR, "records"),
    log:
        os.path.join(OUTDIR, "logs", "verify.log"),
    shell:
        "set --; if [ -d {params.records:q} ]; then set -- --records {params.records:q}; fi;"
        " code=0; {params.seqfixity} verify {params.root:q} --against {params.against:q} {params.extra} \"$@\""
        " --report {output:q} --quiet > {log:q} 2>&1 || code=$?;"
        " test -s {output:q} || {{ cat {log:q} >&2; exit $code; }}"


localrules:
    verify,


rule verify:
    input:
        VERIFY_REPORT,
    output:
        touch(VERIFIED),
    run:
        import json

        with open(input[0]) as handle:
            report = json.load(handle)
        counts = ", ".join(f"{count} {name}" for name, count in sorted(report["counts"].items()))
        print(f"seqfixity verify: {report['outcome']}: {counts} ({report['against']})")
        if report["exit_code"]:
            failed = [f"  {f['path']}: {f['verdict']} ({f['hint']})" for f in report["files"] if f["verdict"] != "OK"]
            raise WorkflowError("seqfixity verify failed; see " + input[0] + "\n" + "\n".join(failed[:20]))
