"""The typed models, one module per aggregate."""

from .accounts import AuditEntry, Role, User, reviewer_rounds
from .ballots import Answer, Ballot, BallotCode, Comment, KeyFingerprint, Receipt, SealedBallot
from .base import Base, random_id
from .keygen import KeygenLink
from .limits import LimitCount
from .results import KeptResults
from .review import FeedbackLink, LeaderRemark, Rectification, RectificationStatus
from .rounds import Group, GroupAccess, Item, OrgRating, Round, RoundStatus, Subject, group_subjects, round_spec
from .settings import Setting

__all__ = [
    "Answer", "AuditEntry", "Ballot", "BallotCode", "Base", "Comment", "FeedbackLink", "KeyFingerprint",
    "Group", "GroupAccess", "Item", "KeptResults", "KeygenLink", "LeaderRemark", "LimitCount", "OrgRating", "Receipt", "Rectification",
    "RectificationStatus", "Role", "Round",
    "RoundStatus", "SealedBallot", "Setting", "Subject", "User", "group_subjects", "random_id", "reviewer_rounds", "round_spec",
]
