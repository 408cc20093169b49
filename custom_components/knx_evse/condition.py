"""A condition logged once when it starts and once when it ends (Home Assistant's log-when-unavailable rule).

A charger's silence, a member held for want of values, an unusable meter, unanswered start-up reads,
failing writes: each is one ``LoggedCondition``. ``start`` logs only when the condition was not
active, ``end`` only when it was, so a condition that lasts, or whose details change while it lasts
(a shrinking list of objects), adds no line to the log. Whoever owns the condition owns its object.
"""

from __future__ import annotations

import logging
from typing import Any


class LoggedCondition:
    """One condition of one thing and its two log lines: ``start`` (at ``level``) and ``end`` (info)."""

    def __init__(self, logger: logging.Logger, level: int = logging.WARNING) -> None:
        """Log through ``logger``; the start at ``level`` (warning by default), the end at info."""
        self._logger = logger
        self._level = level
        self.active = False
        """True from a logged start to its end."""

    def start(self, message: str, *args: Any) -> bool:
        """Log ``message % args`` unless the condition is active already; return True when it was logged."""
        if self.active:
            return False
        self.active = True
        self._logger.log(self._level, message, *args)
        return True

    def end(self, message: str, *args: Any) -> bool:
        """Log ``message % args`` at info when the condition was active; return True when it was logged."""
        if not self.active:
            return False
        self.active = False
        self._logger.info(message, *args)
        return True
