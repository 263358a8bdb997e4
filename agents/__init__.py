"""Faust agents: thin stream processors that decode, call one service function and emit.

Each module exposes ``register(sf)``, which attaches its agents and timers to ``sf.app``. The builder
(:func:`streamfix.runtime.app.create_app`) imports and registers them by name; nothing is discovered.
"""
