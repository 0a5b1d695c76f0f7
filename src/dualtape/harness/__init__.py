"""Experiments harness: sweeps over sizes and methods, one timing protocol, counters,
tidy records with provenance in a store that never loses them, scaling plots (in
``dualtape.harness.plots``, the only part that loads matplotlib) and the command line
``python -m dualtape.harness``."""

from .env import env_metadata
from .records import STATISTICS, ResultsError, load_frame, load_records, save_records
from .store import ResultsWarning
from .sweep import RunOptions, SweepSummary, grid_points, run_options, sweep
from .timing import fit_slope, summarize, time_call

__all__ = ["STATISTICS", "ResultsError", "ResultsWarning", "RunOptions", "SweepSummary",
           "env_metadata", "fit_slope", "grid_points", "load_frame", "load_records",
           "run_options", "save_records", "summarize", "sweep", "time_call"]
