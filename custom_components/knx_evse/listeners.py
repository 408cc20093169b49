"""Listeners: the callbacks one source calls on a change, each guarded against the others' errors."""

from __future__ import annotations

import logging
from collections.abc import Callable

from homeassistant.core import CALLBACK_TYPE, callback


class Listeners[*Args]:
    """Callbacks called with ``*Args``, in the order they were added.

    ``add(listener)`` returns the remover (safe to call twice). ``notify(*args)`` calls every
    listener; one that raises is logged on ``logger`` and the others still run.
    """

    def __init__(self, logger: logging.Logger, owner: str, what: str = "listener") -> None:
        """Log errors of the listeners on ``logger`` as ``<owner>: error in <what>``."""
        self._logger = logger
        self._owner = owner
        self._what = what
        self._listeners: list[Callable[[*Args], None]] = []

    def __bool__(self) -> bool:
        """Return True when any listener is registered."""
        return bool(self._listeners)

    @callback
    def add(self, listener: Callable[[*Args], None]) -> CALLBACK_TYPE:
        """Register ``listener``; return the function that removes it."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def notify(self, *args: *Args) -> None:
        """Call every listener with ``args``; an error in one is logged, the others still run."""
        for listener in tuple(self._listeners):
            try:
                listener(*args)
            except Exception:
                self._logger.exception("%s: error in %s", self._owner, self._what)

    def clear(self) -> None:
        """Remove every listener."""
        self._listeners.clear()
