"""Rounds: importing a spec, and the draft → open → closed → published life of a round."""
