"""The typed models, one module per aggregate."""

from .ballots import Answer, Ballot, BallotCode, Comment
from .base import Base, random_id
from .review import FeedbackLink, LeaderRemark, Rectification, RectificationStatus
from .rounds import Group, Item, OrgRating, Round, RoundStatus, Subject, group_subjects

__all__ = [
    "Answer", "Ballot", "BallotCode", "Base", "Comment", "Group", "Item", "OrgRating", "Round",
    "RoundStatus", "Subject", "group_subjects", "random_id",
    "FeedbackLink", "LeaderRemark", "Rectification", "RectificationStatus",
]
