"""Tidy result records: the column layout, CSV/JSON files, and reading them back.

A record is a flat dict, one per (grid point, method, statistic).  The CSV is the
authoritative file (it is appended to while a sweep runs); the JSON holds the same
records for tools that prefer it.
"""

from __future__ import annotations

import csv
import json
import math
import os
import pathlib
import re
from typing import Any, Iterable, Sequence

__all__ = [
    "STATISTICS", "COUNT_COLUMNS", "ENV_COLUMNS", "STRING_COLUMNS", "columns_for",
    "save_records", "load_records", "append_rows", "read_csv_raw", "parse_row",
    "parse_value",
]

STATISTICS = ("median", "q25", "q75", "min", "max")

COUNT_COLUMNS = ("calls", "flops", "bytes", "primal_calls", "primal_flops",
                 "derivative_calls", "derivative_flops", "tape_records", "tape_bytes")
ENV_COLUMNS = ("python", "numpy", "dualtape", "cpu", "threads", "commit", "timestamp")
_HEAD = ("experiment", "method")
_MEASURED = ("statistic", "time_s", *COUNT_COLUMNS, "peak_bytes", "repeats")

# Never parsed as numbers: a short commit hash such as "1234567" or "12e4567" looks
# numeric, and version strings must stay comparable as text.
STRING_COLUMNS = frozenset({"experiment", "method", "statistic", "python", "numpy",
                            "dualtape", "cpu", "commit", "timestamp"})

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?|[+-]?(nan|inf)")


def columns_for(grid_keys: Iterable[str]) -> list[str]:
    """The column order of a sweep over ``grid_keys``: experiment, method, the grid
    keys, statistic, time_s, counts, peak_bytes, repeats, environment."""
    keys = list(grid_keys)
    clash = set(keys) & set(_HEAD + _MEASURED + ENV_COLUMNS)
    if clash:
        raise ValueError(f"grid keys {sorted(clash)} clash with record columns; rename them")
    return [*_HEAD, *keys, *_MEASURED, *ENV_COLUMNS]


def parse_value(column: str, text: str) -> Any:
    """One CSV cell back to a Python value: ``""`` -> None, numbers -> int/float,
    anything else (and every column in STRING_COLUMNS) stays text."""
    if text == "":
        return None
    if column in STRING_COLUMNS:
        return text
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def parse_row(row: dict[str, str]) -> dict[str, Any]:
    """A raw CSV row (all strings) with numbers parsed, see :func:`parse_value`."""
    return {k: parse_value(k, v) for k, v in row.items()}


def read_csv_raw(path: str | os.PathLike) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of a CSV file, cells left as strings.  A last line cut short by an
    interruption (fewer cells than the header) is dropped."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return [], []
        rows = [dict(zip(header, cells)) for cells in reader if len(cells) == len(header)]
    return header, rows


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


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
    atomically, so a reader never sees half of it.  Returns the path.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".csv":
        cols = list(columns) if columns is not None else _union_columns(records)
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(cols)
            for r in records:
                writer.writerow([_cell(r.get(c)) for c in cols])
    elif path.suffix == ".json":
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump([dict(r) for r in records], fh, indent=1, default=str)
            fh.write("\n")
    else:
        raise ValueError(f"save_records writes .csv or .json files, not {path.name!r}")
    os.replace(tmp, path)
    return path


def append_rows(path: str | os.PathLike, columns: Sequence[str], rows: Iterable[dict]) -> None:
    """Append ``rows`` to a CSV (writing the header first if the file is new or empty).

    Closing the file hands the rows to the operating system, which is enough for them to
    survive the process being interrupted or killed; no fsync, whose cost per pair
    would show in quick sweeps, for the rarer case of the machine going down.
    """
    path = pathlib.Path(path)
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(columns)
        writer.writerows([_cell(r.get(c)) for c in columns] for r in rows)


def load_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read records written by :func:`save_records` or a sweep (``.csv`` or ``.json``).

    Returns a list of dicts; in a CSV, empty cells become ``None`` and numeric cells
    int or float, except the text columns (experiment, method, statistic, versions,
    cpu, commit, timestamp).
    """
    path = pathlib.Path(path)
    if path.suffix == ".json":
        with open(path, encoding="utf-8") as fh:
            return list(json.load(fh))
    _, rows = read_csv_raw(path)
    return [parse_row(r) for r in rows]
