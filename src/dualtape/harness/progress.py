"""Progress of a sweep: a tqdm bar on a terminal; in a log, plain lines to stderr every
``interval`` seconds with the counts and an ETA (no carriage-return redraws)."""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["progress_bar", "LogProgress", "format_seconds"]

#: Seconds between two progress lines in a log.
INTERVAL = 15.0


def format_seconds(s: float) -> str:
    """``75.3`` -> ``"1m15s"``, ``4000`` -> ``"1h06m"``."""
    s = max(0, int(round(s)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class _NoBar:
    """Accepts the calls the sweep makes and does nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


class LogProgress(_NoBar):
    """One line to stderr at most every ``interval`` seconds:
    ``modes_vs_n_m: 120/363 pairs, 2m10s elapsed, ETA 4m25s (jacrev n=64 m=8)``."""

    def __init__(self, total: int, desc: str, interval: float = INTERVAL) -> None:
        self.total, self.desc, self.interval = total, desc, interval
        self.done = 0
        self.start = self.last = time.monotonic()
        self.what = ""

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.what = s

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.interval and self.done < self.total:
            self.last = now
            elapsed = now - self.start
            eta = elapsed / self.done * (self.total - self.done)
            print(f"{self.desc}: {self.done}/{self.total} pairs, {format_seconds(elapsed)} "
                  f"elapsed, ETA {format_seconds(eta)} ({self.what})", file=sys.stderr,
                  flush=True)


def progress_bar(total: int, desc: str, enabled: bool = True,
                 interval: float = INTERVAL) -> Any:
    """A tqdm bar over ``total`` steps when stderr is a terminal (and tqdm installed), a
    :class:`LogProgress` otherwise, or a silent stand-in when disabled or empty.  All
    have ``update``, ``set_postfix_str`` and ``close``.

    tqdm is imported here, not at module level, so ``import dualtape.harness`` never
    loads it and a machine without it still runs every sweep.
    """
    if not enabled or total <= 0:
        return _NoBar()
    isatty = getattr(sys.stderr, "isatty", None)
    if isatty is not None and isatty():
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return LogProgress(total, desc, interval)
        return tqdm(total=total, desc=desc, unit="pair", dynamic_ncols=True,
                    mininterval=0.5, file=sys.stderr)
    return LogProgress(total, desc, interval)
