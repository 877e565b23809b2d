"""Subcommands of `videoprism-train` (see training/cli.py)."""
