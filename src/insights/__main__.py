"""``python -m insights``: the same command line as ``insights``."""

from insights.cli.app import main

main()
