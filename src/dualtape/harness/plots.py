"""Scaling plots for the paper: log-log lines per method with fitted slopes and
theoretical reference lines.  The only harness module that imports matplotlib.
"""

from __future__ import annotations

import os
import pathlib
import sys
from typing import Any, Mapping, Sequence

# Before pyplot is first imported: without a display the default GUI backend would fail,
# and the harness only ever writes files.  An explicit choice by the user still wins.
if "matplotlib.pyplot" not in sys.modules:
    os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

from .timing import fit_slope  # noqa: E402

__all__ = ["scaling_plot", "save_figure", "select", "provenance_text", "paper_style"]

def paper_style() -> None:
    """Font sizes for figures drawn at most about 7.5 inches wide, so that placed at the
    width of a page their smallest text stays at 6-7 pt."""
    plt.rcParams.update({"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8,
                         "legend.fontsize": 7, "xtick.labelsize": 7, "ytick.labelsize": 7,
                         "figure.titlesize": 9})


# Distinct dash patterns keep several reference lines apart in a grey-scale print.
_DASHES = [(0, (5, 3)), (0, (2, 2)), (0, (8, 3, 2, 3)), (0, (1, 3))]


def select(records: Sequence[Mapping[str, Any]], where: Mapping[str, Any] | None = None
           ) -> list[Mapping[str, Any]]:
    """The records whose value equals ``where[column]`` for every column in ``where``."""
    where = dict(where or {})
    return [r for r in records if all(r.get(k) == v for k, v in where.items())]


def scaling_plot(records: Sequence[Mapping[str, Any]], x: str = "n", y: str = "flops",
                 hue: str = "method", where: Mapping[str, Any] | None = None,
                 ax: Any = None, title: str | None = None, ylabel: str | None = None,
                 reference: Mapping[str, float] | None = None, loglog: bool = True,
                 xlabel: str | None = None, spread: bool = True) -> Any:
    """Draw ``y`` against ``x``, one line per value of ``hue``, from tidy records.

    ``where`` keeps only records matching every given column, e.g.
    ``{"statistic": "median", "m": 64}``; if it does not name ``statistic`` and the
    records have one, only the median rows are used.  After filtering, each hue value
    must have one row per x (otherwise a ValueError names the clash).  Rows whose ``y``
    is missing are skipped.  Each legend entry carries the least-squares log-log slope,
    e.g. ``"jacfwd (slope 1.02)"``.  ``reference`` maps labels to slopes; each is drawn
    dashed through the first point of the first series over the whole x range.
    ``loglog`` sets both axes to log scale.  With ``spread`` (and median rows selected)
    the band between the q25 and q75 rows of the same selection is shaded, which shows
    the timing spread for ``y="time_s"`` and nothing for exact counts.  Returns the
    matplotlib Axes (a new figure's when ``ax`` is None).
    """
    where = dict(where or {})
    if "statistic" not in where and any("statistic" in r for r in records):
        where["statistic"] = "median"
    rows = [r for r in select(records, where) if r.get(y) is not None and r.get(x) is not None]
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 3.6), layout="constrained")

    series = _series(rows, x, y, hue, where)
    bands: dict[str, dict[Any, dict[Any, float]]] = {}
    if spread and where.get("statistic") == "median":
        for stat in ("q25", "q75"):
            w = {**where, "statistic": stat}
            bands[stat] = _series([r for r in select(records, w) if r.get(y) is not None
                                   and r.get(x) is not None], x, y, hue, w)

    first: tuple[float, float] | None = None
    all_x: list[float] = []
    for label, line in series.items():
        xs = sorted(line)
        ys = [line[v] for v in xs]
        try:
            text = f"{label} (slope {fit_slope(xs, ys):.2f})"
        except ValueError:  # a single point has no slope; still show it
            text = str(label)
        (drawn,) = ax.plot(xs, ys, marker="o", markersize=4, label=text)
        lo_band, hi_band = bands.get("q25", {}).get(label), bands.get("q75", {}).get(label)
        if lo_band and hi_band and all(v in lo_band and v in hi_band for v in xs):
            ax.fill_between(xs, [lo_band[v] for v in xs], [hi_band[v] for v in xs],
                            color=drawn.get_color(), alpha=0.2, linewidth=0)
        all_x.extend(xs)
        if first is None:
            first = (float(xs[0]), float(ys[0]))

    if reference and first is not None and all_x:
        x0, y0 = first
        lo, hi = min(all_x), max(all_x)
        for i, (name, slope) in enumerate(reference.items()):
            xr = [lo, hi]
            ax.plot(xr, [y0 * (v / x0) ** slope for v in xr], color="0.45", linewidth=1,
                    linestyle=_DASHES[i % len(_DASHES)], label=name)

    if loglog:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = sorted(set(all_x))
        if 0 < len(ticks) <= 12:
            # Sizes are few and chosen (8, 16, 32 ...): label them plainly instead of
            # matplotlib's overlapping minor labels like 3x10^1 on a short log axis.
            ax.set_xticks(ticks)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(xlabel if xlabel is not None else x)
    ax.set_ylabel(ylabel if ylabel is not None else y)
    if title is not None:
        ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    if series:
        ax.legend(fontsize="small")
    return ax


def _series(rows: Sequence[Mapping[str, Any]], x: str, y: str, hue: str,
            where: Mapping[str, Any]) -> dict[Any, dict[Any, float]]:
    """``{hue value: {x: y}}``; a repeated x within one hue value is an error, because
    silently keeping one of them would plot the wrong line."""
    series: dict[Any, dict[Any, float]] = {}
    for r in rows:
        line = series.setdefault(r.get(hue), {})
        if r[x] in line:
            raise ValueError(
                f"several rows for {hue}={r.get(hue)!r} at {x}={r[x]!r} after filtering "
                f"with where={dict(where)}; add the column that varies to where=")
        line[r[x]] = r[y]
    return series


def provenance_text(records: Sequence[Mapping[str, Any]]) -> str:
    """One line naming the run that produced ``records``: dualtape version, commit (with
    ``+dirty`` for uncommitted changes), quick or full grid, measurement dates, host,
    e.g. ``"dualtape 0.1.0, commit 454bd87a, full grid, measured 2026-12-02, host vm"``."""
    def values(col: str) -> list[str]:
        return sorted({str(r[col]) for r in records if r.get(col) not in (None, "")})

    commits = values("commit")
    dirty = any(r.get("dirty") is True for r in records)
    dates = sorted({str(r["timestamp"])[:10] for r in records if r.get("timestamp")})
    parts = [f"dualtape {'/'.join(values('dualtape')) or '?'}",
             f"commit {'/'.join(c[:8] for c in commits) or '?'}{'+dirty' if dirty else ''}",
             f"{'/'.join(values('scale')) or 'unknown'} grid",
             "measured " + ("?" if not dates else dates[0] if len(dates) == 1
                            else f"{dates[0]} to {dates[-1]}"),
             f"host {'/'.join(values('host')) or '?'}"]
    return ", ".join(parts)


def save_figure(fig: Any, path_without_suffix: str | os.PathLike, dpi: int = 150,
                records: Sequence[Mapping[str, Any]] | None = None
                ) -> tuple[pathlib.Path, pathlib.Path]:
    """Write ``fig`` (a Figure, or an Axes whose figure is meant) as PNG and PDF next to
    each other; missing directories are created.  Returns ``(png_path, pdf_path)``.

    With ``records``, the figure carries their provenance (:func:`provenance_text`) in
    a small footer and in the files' metadata (PNG text chunks ``Description`` and
    ``Source``; the PDF's ``Subject`` and ``Keywords``).  The PDF carries no creation
    date, so redrawing unchanged results gives the same file.
    """
    if not isinstance(fig, Figure):
        fig = fig.figure
    base = pathlib.Path(path_without_suffix)
    if base.suffix.lower() in (".png", ".pdf"):
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    png = base.with_name(base.name + ".png")
    pdf = base.with_name(base.name + ".pdf")
    png_meta: dict[str, Any] = {"Software": "dualtape.harness"}
    pdf_meta: dict[str, Any] = {"CreationDate": None, "Creator": "dualtape.harness"}
    if records:
        text = provenance_text(records)
        # Below everything drawn so far (the tight bounding box then grows to include
        # it), so it never sits on a legend or an axis label.
        fig.canvas.draw()
        bottom = fig.get_tightbbox(fig.canvas.get_renderer()).y0 / fig.get_figheight()
        fig.text(0.995, min(0.0, bottom) - 0.005, text, ha="right", va="top", fontsize=6,
                 color="0.35")
        png_meta.update(Description=text, Source=text)
        pdf_meta.update(Subject=text, Keywords=text)
    fig.savefig(png, dpi=dpi, bbox_inches="tight", metadata=png_meta)
    fig.savefig(pdf, bbox_inches="tight", metadata=pdf_meta)
    return png, pdf
