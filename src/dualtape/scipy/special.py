"""Placeholder: filled by the numpy-coverage work."""

__all__: list[str] = []
