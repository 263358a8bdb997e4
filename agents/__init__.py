"""Faust agents: thin stream processors that decode, call :mod:`streamfix.core` and write tables/topics."""
