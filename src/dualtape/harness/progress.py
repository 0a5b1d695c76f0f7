"""A progress bar with ETA if tqdm is installed, a silent stand-in otherwise."""

from __future__ import annotations

from typing import Any

__all__ = ["progress_bar"]


class _NoBar:
    """Accepts the tqdm calls the sweep makes and does nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, desc: str, enabled: bool = True) -> Any:
    """A tqdm bar over ``total`` steps, or an object with the same ``update``,
    ``set_postfix_str`` and ``close`` methods when disabled or tqdm is missing.

    tqdm is imported here, not at module level, so ``import dualtape.harness`` never
    loads it and a machine without it still runs every sweep.
    """
    if not enabled or total <= 0:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoBar()
    # disable=None: a bar on a terminal, none in a log file (where \r-redraws pile up)
    return tqdm(total=total, desc=desc, unit="case", dynamic_ncols=True, disable=None,
                mininterval=0.5)
