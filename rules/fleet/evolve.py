"""``dataclasses.replace`` for the rules' frozen state records, without running ``__init__``.

Why: the rules' pure steps return a new frozen state per fix, several per fix in all; through
``dataclasses.replace`` (which re-runs the generated ``__init__`` with every field, frozen
``object.__setattr__`` included) that was ~6 calls and a tenth of the engine's time per fix
(issue 11). For plain frozen dataclasses (no ``__post_init__``, no ``InitVar``, no ``__slots__``:
the state records here) copying the instance dict gives the same object.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def evolve(obj: T, **changes: Any) -> T:
    """A copy of ``obj`` with ``changes``; a name that is not a field raises ``TypeError`` like ``replace``."""
    fields = obj.__dict__
    if not fields.keys() >= changes.keys():
        raise TypeError(f"{type(obj).__name__} has no field(s) {sorted(changes.keys() - fields.keys())}")
    new = object.__new__(type(obj))
    new.__dict__.update(fields, **changes)
    return new
