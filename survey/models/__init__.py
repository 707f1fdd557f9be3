"""The typed models, one module per aggregate."""

from .accounts import AuditEntry, FailedSignIn, Role, User, reviewer_rounds
from .ballots import Answer, Ballot, BallotCode, Comment
from .base import Base, random_id
from .settings import Setting
from .rounds import Group, Item, OrgRating, Round, RoundStatus, Subject, group_subjects

__all__ = [
    "Answer", "AuditEntry", "Ballot", "BallotCode", "Base", "Comment", "FailedSignIn", "Group", "Item", "OrgRating", "Round",
    "Role", "RoundStatus", "Setting", "Subject", "User", "group_subjects", "random_id", "reviewer_rounds",
]
