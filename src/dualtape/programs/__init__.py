"""Recorded programs: a function captured once as its evaluation trace (Wengert list),
replayed at new inputs with its value-dependent decisions checked, shown as the
textbook trace, table, graph and generated source."""

from .program import GuardError, Program, ProgramStats, Recording, record, recorded
from .recording import Guard, Instr, RecordingError

__all__ = ["Guard", "GuardError", "Instr", "Program", "ProgramStats", "Recording",
           "RecordingError", "record", "recorded"]
