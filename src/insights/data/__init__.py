"""Stage 1, raw to typed tables: paths, settings, the data contract, validation, loading and the typed-table cache.

Nothing here knows an analysis; nothing here ever writes under the raw folder.
"""
