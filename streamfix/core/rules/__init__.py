"""Classification rule tables (data, not code): see :mod:`streamfix.core.rules.default`."""
