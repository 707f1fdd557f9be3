"""Exporting a round's data for scoring and archives."""
