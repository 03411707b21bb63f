"""One module per ``seqfixity`` subcommand; each has ``register(subparsers)``."""
