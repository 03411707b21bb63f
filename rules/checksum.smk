# One job per batch: every file of the batch is read once for MD5, ETag and xxh3 and
# validated as FASTQ from the same bytes (see rules/validate.smk for the level).
# Outputs per sample, written atomically by `seqfixity digest`:
#   {outdir}/checksums/{sample}_md5.txt and {outdir}/records/{sample}.jsonl
# The batch's own output is a small JSON listing those records (and its timing).
# A re-run job (a touched input, --forcerun) reads only the files whose device, inode,
# size, mtime or settings changed; the others keep their earlier record (reuse_unchanged).
# Every rule passes its log as --log, not 2> log: the messages go to the log and, when the
# job fails, to the job's stderr too (the log may be on the full disk that made it fail).


rule digest:
    input:
        batch_files,
    output:
        BATCH_DONE,
    params:
        missing=batch_missing,
        remote_objects=batch_remote,
        remote=REMOTE_ARGS,
        sample_ids=batch_samples,
        outdir=report_folder,
        seqfixity=SEQFIXITY,
        settings=shlex.join(SETTINGS.to_cli_args()),
        validation=VALIDATION_ARGS,
        samples=sheet_flags,
        reuse=reuse_flag,
    threads: batch_threads
    resources:
        mem_mb=batch_mem_mb,
        runtime=batch_runtime,
    log:
        os.path.join(OUTDIR, "logs", "digest", "{batch}.log"),
    wildcard_constraints:
        batch=r"b[0-9a-f]{12}",
    conda:
        "../envs/seqfixity.yaml"
    shell:
        "{params.seqfixity} digest {input:q} {params.missing} --outdir {params.outdir:q} {params.settings}"
        " {params.validation} {params.samples} {params.reuse} {params.remote} --jobs {threads} --done {output:q}"
        " --log {log:q}"
