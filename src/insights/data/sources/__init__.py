"""Your own data: a source mapping file turns exports or warehouse tables into contract tables.

A mapping file (``config/sources.yaml`` by default, see ``docs/sources.md``) says, per contract
table, where its rows come from (a file, a folder or a SQL query), how columns are renamed,
how values are mapped, how dates are written and in which unit ARR is. ``spec`` reads and checks
the file, ``readers`` reads the sources in chunks, ``transform`` maps each chunk, ``warehouse``
opens SQLAlchemy connections with credentials from the environment, ``snapshot`` writes the
mapped tables as a folder of contract tables under ``data/processed/sources/``, ``locate``
decides which source a run uses and ``suggest`` drafts a mapping file from the headers of
exports. The rest of the package reads that folder as it reads ``data/raw``: nothing here writes
into the user's files.
"""
