"""Reports: the tables, summary and MultiQC file of a run (``tables``), and check/verify results (``results``)."""
