"""The result store of one sweep name: ``DIR/NAME.csv`` read, checked, repaired and
appended to under a lock, so that data is never lost, duplicated or corrupted.

* One sweep of a name at a time: an exclusive ``flock`` on ``DIR/NAME.csv.lock`` is held
  for the whole sweep (dualtape's harness runs on Linux and macOS; a second sweep of the
  same name waits, says so, and then reuses what the first one measured).  Serialising
  them also keeps their timings from disturbing each other.
* A finished pair's rows are appended in one write; an interrupted write leaves at
  most one damaged line, which the next sweep reports and measures again.
* Repairs (dropping damaged, incomplete or stale rows) rewrite the file atomically:
  a unique temporary file, fsync, rename.  Damaged lines are kept, verbatim, in
  ``DIR/NAME.damaged.csv`` for inspection.
* Nothing is written when nothing changes, so a finished sweep also runs in a
  read-only folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pathlib
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from .records import (STATISTICS, ResultsError, atomic_write, check_cell, format_row,
                      read_lines)

__all__ = ["ResultsWarning", "Store", "Saved", "LATER_COLUMNS"]

#: Columns added to the layout after results were first written: a file that lacks only
#: these is read as it is and upgraded when next written, not moved aside.
LATER_COLUMNS = frozenset({"load", "pid"})


class ResultsWarning(UserWarning):
    """A results file had damaged or unusable rows; they are measured again."""


@dataclass
class Saved:
    """What a results file holds for one sweep: complete pairs by pair key (each a list
    of parsed rows with their line numbers), plus the lines that are not usable."""

    pairs: dict[tuple[str, ...], list[dict[str, Any]]] = field(default_factory=dict)
    failed: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    damaged: list[tuple[int, str]] = field(default_factory=list)   # (line, reason)
    damaged_text: list[str] = field(default_factory=list)
    incomplete: list[tuple[tuple[str, ...], list[int]]] = field(default_factory=list)
    other: list[str] = field(default_factory=list)   # raw lines of other pairs, kept as is
    needs_rewrite: bool = False
    old_layout: bool = False     # lacks only LATER_COLUMNS: rewrite before appending


def pair_key(method: Any, point: dict[str, Any], keys: Sequence[str]) -> tuple[str, ...]:
    # Compared as the text the CSV holds, so 64 written and read back still matches 64
    # and a float grid value matches exactly (str(float) round-trips).
    return (str(method), *(str(point[k]) for k in keys))


class Store:
    """The CSV of one sweep name in ``directory``, with the lock that guards it."""

    def __init__(self, directory: str | os.PathLike, name: str, columns: Sequence[str],
                 keys: Sequence[str]) -> None:
        self.dir = pathlib.Path(directory)
        self.name = name
        self.columns = list(columns)
        self.keys = list(keys)
        self.path = self.dir / f"{name}.csv"
        self.json_path = self.dir / f"{name}.json"
        self.writable = True

    # ---- locking -----------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator["Store"]:
        """Hold the exclusive lock of this name for the block.  In a folder that cannot
        be written, no lock is taken and ``writable`` is false: reading still works, and
        any attempt to write raises an error saying so."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.dir / f"{self.name}.csv.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EROFS, errno.EPERM):
                raise
            self.writable = False
            yield self
            return
        try:
            import fcntl

            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print(f"{self.name}: another sweep of {self.name!r} is running on "
                      f"{self.path}; waiting for it to finish", file=sys.stderr, flush=True)
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield self
        finally:
            os.close(fd)    # closing releases the lock

    def _need_writable(self, what: str) -> None:
        if not self.writable:
            raise PermissionError(f"cannot {what} in {self.dir}: the folder is not "
                                  f"writable; run the sweep in a writable results folder "
                                  f"(--results DIR)")

    # ---- reading -----------------------------------------------------------------------
    def read(self) -> Saved:
        """Check every line of the file and group the usable rows of this sweep by pair.

        Damaged lines (not UTF-8, wrong number of cells, a cell of the wrong type, a
        pair with missing, repeated or mismatched statistic rows) are reported in one
        :class:`ResultsWarning` naming the file and the lines; their pairs are then
        simply missing, so they are measured again.  A file with other columns (an
        older layout, other grid keys) is moved aside to ``NAME.csv.old``.
        """
        saved = Saved()
        if not self.path.exists():
            return saved
        try:
            header, lines = read_lines(self.path)
        except ResultsError as exc:
            self._move_aside(f"{exc}")
            return saved
        if not header:
            saved.needs_rewrite = bool(lines)
            return saved
        if header != self.columns:
            if header != [c for c in self.columns if c in header or c not in LATER_COLUMNS]:
                self._move_aside(f"{self.path} has different columns than this sweep (an "
                                 f"older layout or other grid keys)")
                return saved
            # Only columns added since are missing: the rows stay usable (those cells
            # empty) and the file gets the new header before anything is appended.
            saved.old_layout = True
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for number, cells in lines:
            if isinstance(cells, str):
                self._damage(saved, number, f"line {cells}")
                continue
            try:
                row = {c: check_cell(c, v) for c, v in zip(header, cells)}
                self._check_row(row)
            except ValueError as exc:
                self._damage(saved, number, str(exc), cells)
                continue
            row["_line"], row["_text"] = number, format_row(self.columns, row)
            if row["experiment"] != self.name:
                saved.other.append(row["_text"])
                continue
            groups.setdefault(pair_key(row["method"], row, self.keys), []).append(row)
        for key, rows in groups.items():
            self._group(saved, key, rows)
        with open(self.path, "rb") as fh:
            fh.seek(max(0, self.path.stat().st_size - 1))
            if fh.read(1) not in (b"\n", b""):
                saved.needs_rewrite = True     # appending would continue a cut line
        if saved.damaged or saved.incomplete:
            shown = "; ".join(f"line {n}: {why}" for n, why in saved.damaged[:5])
            more = f" (and {len(saved.damaged) - 5} more)" if len(saved.damaged) > 5 else ""
            cut = "; ".join(f"{' '.join(k)} (lines {', '.join(map(str, lines))})"
                            for k, lines in saved.incomplete[:5])
            text = f"{self.path}: {len(saved.damaged)} damaged line(s): {shown}{more}"
            if saved.incomplete:
                text += f"; {len(saved.incomplete)} incomplete pair(s): {cut}"
            warnings.warn(text + "; those pairs are measured again", ResultsWarning,
                          stacklevel=3)
        return saved

    def _check_row(self, row: dict[str, Any]) -> None:
        for k in self.keys:
            if row.get(k) is None:
                raise ValueError(f"grid column {k!r} is empty")
        stat, status = row["statistic"], row["status"]
        if status == "ok":
            if stat not in STATISTICS:
                raise ValueError(f"statistic {stat!r} is not one of {', '.join(STATISTICS)}")
            if row.get("time_s") is None:
                raise ValueError("column 'time_s' is empty in a measured row")
        elif status == "error":
            if stat != "error":
                raise ValueError(f"a failed pair's row has statistic {stat!r}, not 'error'")
        else:
            raise ValueError(f"status {status!r} is neither 'ok' nor 'error'")

    def _group(self, saved: Saved, key: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
        # A pair is usable if its last rows form one complete set of statistics from one
        # measurement (same time key), or one error row; earlier or repeated rows of the
        # same pair (an older measurement, a duplicate) are superseded.  A pair without
        # a complete set is incomplete: it is measured again.
        last = rows[-1]
        if last["status"] == "error":
            saved.failed[key] = last
            if len(rows) > 1:
                saved.needs_rewrite = True
            return
        chosen: dict[str, dict[str, Any]] = {}
        for r in reversed(rows):
            if r["status"] == "ok" and r["time_key"] == last["time_key"]:
                chosen.setdefault(r["statistic"], r)
        if len(chosen) == len(STATISTICS):
            saved.pairs[key] = sorted(chosen.values(), key=lambda r: r["_line"])
            if len(rows) > len(STATISTICS):
                saved.needs_rewrite = True
            return
        saved.incomplete.append((key, [r["_line"] for r in rows]))
        saved.damaged_text.extend(r["_text"] for r in rows)
        saved.needs_rewrite = True

    def _damage(self, saved: Saved, number: int, why: str, cells: Any = None,
                text: str | None = None) -> None:
        saved.damaged.append((number, why))
        saved.needs_rewrite = True
        if text is None:
            try:
                raw = self.path.read_bytes().split(b"\n")[number - 1]
                text = raw.decode("utf-8", errors="backslashreplace") + "\n"
            except (OSError, IndexError):
                text = ""
        saved.damaged_text.append(text)

    def _move_aside(self, why: str) -> None:
        self._need_writable("move the unreadable results file aside")
        backup = self.path.with_name(self.path.name + ".old")
        self.path.replace(backup)
        warnings.warn(f"{why}; moved it to {backup.name} and starting afresh",
                      ResultsWarning, stacklevel=4)

    # ---- writing -----------------------------------------------------------------------
    def rewrite(self, keep: Sequence[dict[str, Any]], saved: Saved,
                dropped: Sequence[dict[str, Any]] = ()) -> None:
        """Replace the file by the header, the rows of other experiments and ``keep``
        (rows with their ``_text``), atomically; damaged lines go to NAME.damaged.csv,
        and ``dropped`` rows (stale, about to be measured again) to NAME.stale.csv, so
        that no measured row is ever deleted."""
        self._need_writable("repair the results file")
        if dropped:
            stale = self.dir / f"{self.name}.stale.csv"
            head = "" if stale.exists() else format_row(self.columns,
                                                        dict(zip(self.columns, self.columns)))
            with open(stale, "a", encoding="utf-8") as fh:
                fh.write(head + "".join(r["_text"] for r in dropped))
        if saved.damaged_text:
            with open(self.dir / f"{self.name}.damaged.csv", "a", encoding="utf-8") as fh:
                fh.writelines(saved.damaged_text)
        header = format_row(self.columns, dict(zip(self.columns, self.columns)))
        atomic_write(self.path, header + "".join(saved.other) + "".join(r["_text"] for r in keep))

    def append(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append one pair's rows in a single write (the header first if the file is new)."""
        self._need_writable("save new results")
        text = "".join(format_row(self.columns, r) for r in rows)
        if not self.path.exists() or self.path.stat().st_size == 0:
            text = format_row(self.columns, dict(zip(self.columns, self.columns))) + text
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            data = memoryview(text.encode("utf-8"))
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)
