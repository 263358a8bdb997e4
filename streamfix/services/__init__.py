"""Stateful logic the agents and views call: conversions between core and wire records."""
