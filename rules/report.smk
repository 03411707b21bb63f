# One aggregate over every sample (report.html, the tables, summary.json), then a gate that fails
# the run when any file failed. The gate's output is only a marker, so a failing run keeps its
# reports (Snakemake deletes the outputs of a failed job). Both run where Snakemake runs, never
# through a cluster's queue: a second of work should not wait for a node (2,000 records: 0.6 s).
# The aggregate also removes the per-sample reports of samples no longer among the inputs (--prune).
#
# The end of a run: the gate prints nothing (--status: its log stays empty, so --show-failed-logs
# shows no second copy); onerror prints the outcome, the first failures and where report.html is,
# once, after Snakemake's own report of the failed gate. README: "The end of a run".
#
# Before any job starts, a run that will remake the reports (or the verify report) removes the earlier ones and
# their pass markers (forget_earlier_outcome in common.smk): should a job then fail, no SUCCEEDED is left behind.


localrules:
    aggregate,
    check,


rule aggregate:
    input:
        batches=expand(BATCH_DONE, batch=sorted(BATCHES)),
        sheets=SHEETS,
    output:
        REPORTS,
    params:
        outdir=report_folder,
        seqfixity=SEQFIXITY,
        naming=SETTINGS.naming,
        settings=shlex.join(SETTINGS.to_cli_args()),
        validation=f"--validate {SETTINGS.validate}",
        path_style=config["report_paths"],
        since=run_started,
        sample_id=SETTINGS.sample_id,
        samples=sheet_flags,
        unmatched=shlex.join([f"--unmatched-count={UNMATCHED_FILES['count']}",
                              *(f"--unmatched-file={name}" for name in UNMATCHED_FILES["first"])]),
    log:
        os.path.join(OUTDIR, "logs", "aggregate.log"),
    conda:
        "../envs/seqfixity.yaml"
    shell:
        "{params.seqfixity} aggregate --batches {input.batches:q} --outdir {params.outdir:q} --naming {params.naming}"
        " {params.settings} {params.validation} --sample-id {params.sample_id} {params.samples} {params.unmatched}"
        " --path-style {params.path_style} --since {params.since} --prune --log {log:q}"


rule check:
    input:
        os.path.join(OUTDIR, "summary.json"),
    output:
        touch(PASSED),
    params:
        seqfixity=SEQFIXITY,
    log:
        os.path.join(OUTDIR, "logs", "check.log"),
    conda:
        "../envs/seqfixity.yaml"
    shell:
        "{params.seqfixity} aggregate --check {input:q} --status --log {log:q}"


onstart:
    forget_earlier_outcome()


onsuccess:
    end_run_promptly()
    if os.path.exists(os.path.join(OUTDIR, "summary.json")):
        print_run_end(os.path.join(OUTDIR, "summary.json"), file=sys.stdout)
    print_verify_end(file=sys.stdout)


onerror:
    end_run_promptly()
    said = failed_job_messages()
    if said:
        print("seqfixity: the failed SLURM jobs said (their logs are in .snakemake/slurm_logs/):", file=sys.stderr)
        print("\n".join(said[:20] + [f"... and {len(said) - 20} more lines"] * (len(said) > 20)), file=sys.stderr)
    summary = os.path.join(OUTDIR, "summary.json")
    if summary_is_current(summary):
        print_run_end(summary, file=sys.stderr)
        print_verify_end(file=sys.stderr)
    else:  # an earlier run's summary is gone by now (forget_earlier_outcome)
        print(
            f"seqfixity: a job failed before the reports were written (see its log above, or {OUTDIR}/logs/); "
            "fix it and run the same command again",
            file=sys.stderr,
        )
