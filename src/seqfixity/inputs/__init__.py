"""What goes in: input discovery, sample ids and sheets, batches (``discover``), ICA naming lint (``names``)."""
