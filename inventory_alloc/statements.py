"""How many rows one multi-row statement may carry: SQLite counts its parameters, other databases take plenty."""
from __future__ import annotations

import sqlite3

from django.db import connection


def rows_per_statement(width: int, fixed: int = 0, most: int = 5000) -> int:
    """Return how many rows of `width` parameters (plus `fixed` ones) fit in one statement, at most `most`."""
    if connection.vendor != "sqlite":
        return most
    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(most, (limit - fixed) // width))
