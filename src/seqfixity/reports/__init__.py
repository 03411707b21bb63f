"""Reports: the rows, summary.json and the TSV/JSON tables (``tables``), the XLSX workbook (``xlsx``), the MultiQC
file (``multiqc``), report.html (``html``, with ``plots`` and ``failures``), the settings they show
(``run_settings``), the block a run ends with (``ending``), and check/verify results (``results``)."""
