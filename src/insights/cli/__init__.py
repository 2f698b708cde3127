"""The ``insights`` command line (``insights.cli.app``)."""
