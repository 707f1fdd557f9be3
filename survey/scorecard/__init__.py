"""Scorecards for rounds in the database: SQL tallies handed to the scoring library."""
