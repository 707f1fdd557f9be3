"""Backup and restore of the whole database (``flask --app survey backup`` / ``restore``).

A backup is one consistent moment of the database, taken while the service runs and ballots
arrive: SQLite's online backup API in one step (a read transaction: writers go on), or
``pg_dump`` in its custom format (one snapshot) with a client of the server's version. It is
restored only into an empty database. The keys of the instance folder are not in it and must
be kept apart (docs/operations.md).
"""
