"""Experiments harness: sweeps over sizes and methods, timers, counters, tidy records,
scaling plots (in ``dualtape.harness.plots``, the only part that loads matplotlib) and
the command line ``python -m dualtape.harness``."""

from .env import env_metadata
from .records import STATISTICS, load_records, save_records
from .sweep import grid_points, sweep
from .timing import fit_slope, summarize

__all__ = ["STATISTICS", "env_metadata", "fit_slope", "grid_points", "load_records",
           "save_records", "summarize", "sweep"]
