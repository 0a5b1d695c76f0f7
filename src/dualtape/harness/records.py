"""Tidy result records: the column layout and types, CSV/JSON files, and reading them back.

A record is a flat dict, one per (grid point, method, statistic), or one per failed
pair (statistic ``"error"``).  The CSV is the authoritative file (a sweep appends to it
under a lock, see ``store``); the JSON holds the same records for tools that prefer it.
Every record is one physical line: cells never contain line breaks.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import pathlib
import re
import tempfile
from typing import Any, Iterable, Sequence

from .timing import STATISTICS

__all__ = [
    "STATISTICS", "COUNT_COLUMNS", "PROVENANCE_COLUMNS", "ENV_COLUMNS", "STRING_COLUMNS",
    "ResultsError", "columns_for", "save_records", "load_records", "load_frame",
    "parse_row", "parse_value", "check_cell", "format_row", "atomic_write",
]

COUNT_COLUMNS = ("calls", "flops", "bytes", "primal_calls", "primal_flops",
                 "derivative_calls", "derivative_flops", "tape_records", "tape_bytes")
_HEAD = ("experiment", "method")
_MEASURED = ("statistic", "time_s", *COUNT_COLUMNS, "peak_bytes", "status", "error",
             "repeats", "warmup", "min_time", "loops", "protocol", "samples")
#: Where a row came from (see ``provenance``).
PROVENANCE_COLUMNS = ("scale", "source_hash", "params_hash", "dualtape", "commit", "dirty",
                      "code_hash", "python", "numpy", "scipy", "blas", "blas_threads",
                      "cpu", "host", "pid", "threads", "timestamp", "load", "count_key",
                      "time_key")
ENV_COLUMNS = PROVENANCE_COLUMNS  # the name used before provenance had its own module

#: Never parsed as numbers: a short commit hash such as "1234567" or "12e4567" looks
#: numeric, and version strings must stay comparable as text.
STRING_COLUMNS = frozenset({"experiment", "method", "statistic", "status", "error",
                            "protocol", "scale", "source_hash", "params_hash", "dualtape",
                            "commit", "code_hash", "python", "numpy", "scipy", "blas", "cpu",
                            "host", "timestamp", "count_key", "time_key"})
_INT_COLUMNS = frozenset({*COUNT_COLUMNS, "peak_bytes", "repeats", "warmup", "loops",
                          "blas_threads", "threads", "pid"})
_FLOAT_COLUMNS = frozenset({"time_s", "min_time", "load"})
_BOOL_COLUMNS = frozenset({"dirty"})
_LIST_COLUMNS = frozenset({"samples"})
#: Cells that may not be empty in a sweep's row.
_REQUIRED = frozenset({"experiment", "method", "statistic", "status", "count_key",
                       "time_key"})

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?|[+-]?(nan|inf)")


class ResultsError(ValueError):
    """A results file that cannot be read as records; the message names file and line."""


def columns_for(grid_keys: Iterable[str]) -> list[str]:
    """The column order of a sweep over ``grid_keys``: experiment, method, the grid
    keys, statistic, time_s, counts, peak_bytes, status, error, the timing settings and
    raw samples, then the provenance columns."""
    keys = list(grid_keys)
    clash = set(keys) & set(_HEAD + _MEASURED + PROVENANCE_COLUMNS)
    if clash:
        raise ValueError(f"grid keys {sorted(clash)} clash with record columns; rename them")
    return [*_HEAD, *keys, *_MEASURED, *PROVENANCE_COLUMNS]


def parse_value(column: str, text: str) -> Any:
    """One CSV cell back to a Python value, leniently: ``""`` -> None, numbers ->
    int/float, ``true``/``false`` -> bool in typed columns, anything else (and every
    column in STRING_COLUMNS) stays text."""
    if text == "":
        return None
    if column in STRING_COLUMNS:
        return text
    if column in _BOOL_COLUMNS and text in ("true", "false"):
        return text == "true"
    if column in _LIST_COLUMNS:
        try:
            return [float(v) for v in text.split(";")]
        except ValueError:
            return text
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def check_cell(column: str, text: str) -> Any:
    """One cell of a sweep's CSV, parsed strictly: raises ValueError saying why a cell
    does not hold what its column must (a word in a time, a fraction in a count)."""
    if "\x00" in text:
        raise ValueError(f"column {column!r} holds a NUL byte")
    if text == "":
        if column in _REQUIRED:
            raise ValueError(f"column {column!r} is empty")
        return None
    if column in _INT_COLUMNS:
        if not _INT.fullmatch(text):
            raise ValueError(f"column {column!r} must hold an integer, not {text[:40]!r}")
        return int(text)
    if column in _FLOAT_COLUMNS:
        if not _FLOAT.fullmatch(text):
            raise ValueError(f"column {column!r} must hold a number, not {text[:40]!r}")
        return float(text)
    if column in _BOOL_COLUMNS:
        if text not in ("true", "false"):
            raise ValueError(f"column {column!r} must be true or false, not {text[:40]!r}")
        return text == "true"
    if column in _LIST_COLUMNS:
        try:
            return [float(v) for v in text.split(";")]
        except ValueError:
            raise ValueError(f"column {column!r} must hold numbers separated by ';', "
                             f"not {text[:40]!r}") from None
    return parse_value(column, text)


def parse_row(row: dict[str, str]) -> dict[str, Any]:
    """A raw CSV row (all strings) with numbers parsed, see :func:`parse_value`."""
    return {k: parse_value(k, v) for k, v in row.items()}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, (list, tuple)):
        return ";".join(repr(float(v)) for v in value)
    if isinstance(value, str) and ("\n" in value or "\r" in value):
        return " ".join(value.split())   # one record, one line
    return value


def format_row(columns: Sequence[str], row: dict) -> str:
    """One record as one CSV line (with its line break)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def atomic_write(path: pathlib.Path, text: str) -> None:
    """Replace ``path`` by ``text`` at once: written to a unique temporary file in the
    same folder, flushed to disk, then renamed over ``path``; a reader sees the old or
    the new file, never half of one, and two writers never share a temporary file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)          # mkstemp's 0600 would hide results from others
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _union_columns(records: Sequence[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for r in records:
        for k in r:
            seen.setdefault(k, None)
    return list(seen)


def save_records(records: Sequence[dict], path: str | os.PathLike,
                 columns: Sequence[str] | None = None) -> pathlib.Path:
    """Write ``records`` to ``path``: CSV if it ends in ``.csv``, JSON if ``.json``.

    ``columns`` fixes the CSV column order (default: keys in order of first appearance).
    Missing values are written as empty cells / ``null``.  The file is replaced
    atomically (see :func:`atomic_write`).  Returns the path.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        cols = list(columns) if columns is not None else _union_columns(records)
        text = format_row(cols, dict(zip(cols, cols))) + "".join(
            format_row(cols, r) for r in records)
    elif path.suffix == ".json":
        text = json.dumps([dict(r) for r in records], indent=1, default=str) + "\n"
    else:
        raise ValueError(f"save_records writes .csv or .json files, not {path.name!r}")
    atomic_write(path, text)
    return path


def read_lines(path: pathlib.Path) -> tuple[list[str], list[tuple[int, list[str] | str]]]:
    """(header, [(line number, cells or the reason the line is damaged)]) of a CSV file.
    Lines that are not UTF-8, hold a NUL byte or have the wrong number of cells are
    reported, not dropped; blank lines are skipped."""
    data = path.read_bytes()
    out: list[tuple[int, list[str] | str]] = []
    header: list[str] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            reason = f"not valid UTF-8 (byte {exc.start + 1})"
            if not header:
                raise ResultsError(f"{path}:{number}: header {reason}") from None
            out.append((number, reason))
            continue
        if "\x00" in text:
            out.append((number, "holds a NUL byte"))
            continue
        try:
            cells = next(csv.reader([text]))
        except csv.Error as exc:
            out.append((number, f"is not a CSV row ({exc})"))
            continue
        if not header:
            header = cells
            continue
        if len(cells) != len(header):
            out.append((number, f"has {len(cells)} cells where the header has {len(header)}"
                        + (" (cut short)" if number == data.count(b"\n") + 1 else "")))
            continue
        out.append((number, cells))
    return header, out


def load_records(path: str | os.PathLike, strict: bool = True) -> list[dict[str, Any]]:
    """Read records written by :func:`save_records` or a sweep (``.csv`` or ``.json``).

    Returns a list of dicts; in a CSV, empty cells become ``None``, numeric cells int or
    float (except the text columns: names, versions, hashes, commit), ``dirty`` a bool
    and ``samples`` a list of floats.  A damaged line (not UTF-8, wrong number of cells,
    a word in a numeric column) raises :class:`ResultsError` naming the file and the
    line, unless ``strict`` is false, when such lines are left out.
    """
    path = pathlib.Path(path)
    if path.suffix == ".json":
        try:
            with open(path, encoding="utf-8") as fh:
                return list(json.load(fh))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ResultsError(f"{path}: not a JSON list of records ({exc})") from None
    header, lines = read_lines(path)
    typed = "time_key" in header       # a sweep's file: check every cell's type
    rows = []
    for number, cells in lines:
        if isinstance(cells, str):
            if strict:
                raise ResultsError(f"{path}:{number}: line {cells}")
            continue
        try:
            row = {c: (check_cell(c, v) if typed else parse_value(c, v))
                   for c, v in zip(header, cells)}
            if typed and row.get("statistic") not in (*STATISTICS, "error"):
                raise ValueError(f"statistic {row.get('statistic')!r} is not one of "
                                 f"{', '.join(STATISTICS)}, error")
        except ValueError as exc:
            if strict:
                raise ResultsError(f"{path}:{number}: {exc}") from None
            continue
        rows.append(row)
    return rows


def load_frame(path: str | os.PathLike) -> Any:
    """The records of ``path`` as a pandas DataFrame with fitting dtypes: text columns
    (hashes, commits, versions) as strings, counts and other integer columns as nullable
    ``Int64``, times as float64, ``dirty`` as nullable boolean.  Needs pandas."""
    import pandas as pd

    rows = load_records(path)
    frame = pd.DataFrame(rows)
    for c in frame.columns:
        if c in STRING_COLUMNS:
            frame[c] = frame[c].astype("string")
        elif c in _INT_COLUMNS:
            frame[c] = frame[c].astype("Int64")
        elif c in _FLOAT_COLUMNS:
            frame[c] = frame[c].astype("float64")
        elif c in _BOOL_COLUMNS:
            frame[c] = frame[c].astype("boolean")
    return frame
