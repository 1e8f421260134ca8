"""Subcommands of ``poolgate``; each module is discovered by :mod:`poolgate.cli`."""
