"""Organizational ratings (组织评价) for a round's subjects."""
