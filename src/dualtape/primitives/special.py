"""Placeholder: filled by the numpy-coverage work."""
