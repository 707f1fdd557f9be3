"""Scoring for 群众评议 (mass evaluation) rounds: a pure library, no web framework, no database.

Ballots (or tallies of them) and organizational ratings go in; weighted scorecards come out,
by the rules in docs/scoring.md. ``python -m scoring`` is its command line.
"""
