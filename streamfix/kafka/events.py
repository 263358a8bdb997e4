"""Faust's "current event" for work finished after the agent has moved on.

A Faust table write goes to the changelog partition of the event being processed (Faust reads it from a
context variable that the stream iterator sets). The ingest agent finishes a raw batch (writes its
stream's marker) after it has started on later ones, so it names the batch's own event while it writes:
:func:`current` sets the same context variable Faust's stream iterator sets, for the ``with`` block only.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from faust.streams import _current_event


@contextmanager
def current(event: Any) -> Iterator[None]:
    """Table writes inside the block go to ``event``'s changelog partition."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
