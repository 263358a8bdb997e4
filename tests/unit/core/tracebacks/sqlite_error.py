"""sqlite3.OperationalError from a query on a missing table.

EXPECT type=sqlite3.OperationalError function=count_users category=database_error
"""

import sqlite3


def count_users(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT count(*) FROM users").fetchone()[0])  # RAISE-SITE


count_users(sqlite3.connect(":memory:"))
