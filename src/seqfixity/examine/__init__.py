"""The digest job's work per file: digests, FASTQ check and naming lint in one read (``files``), reuse of
unchanged files' records (``reuse``), and where each sample's reports go (``outputs``).
"""
