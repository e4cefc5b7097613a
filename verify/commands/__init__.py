"""One module per ``deflation`` subcommand (see :mod:`verify.cli`)."""
