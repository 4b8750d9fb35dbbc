# cython: language_level=3
"""Snapshot codec (being written)."""
