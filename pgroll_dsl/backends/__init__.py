"""Backends: the same Plan rendered as a reviewable SQL file, or run on a live database."""
