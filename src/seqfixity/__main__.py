"""``python -m seqfixity`` runs the command-line interface."""

from seqfixity.cli import main

raise SystemExit(main())
