"""The typed models, one module per aggregate."""

from .ballots import Answer, Ballot, BallotCode, Comment, KeyFingerprint, Receipt
from .base import Base, random_id
from .rounds import Group, Item, OrgRating, Round, RoundStatus, Subject, group_subjects

__all__ = [
    "Answer", "Ballot", "BallotCode", "Base", "Comment", "KeyFingerprint", "Receipt", "Group", "Item", "OrgRating", "Round",
    "RoundStatus", "Subject", "group_subjects", "random_id",
]
