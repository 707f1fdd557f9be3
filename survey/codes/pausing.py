"""Pausing one open link: while paused it takes no ballot and tells respondents so.

For an organizer who sees ballots arriving faster than the group could answer (the round
page's arrivals per minute), or an on-site session between two sittings. The rest of the round
runs on; resuming takes ballots again. Both are audit-logged.
"""

from __future__ import annotations

from ..auth import audit
from ..errors import NotFound, ServiceError
from ..extensions import db
from ..models import Group, Round

PAUSED_MESSAGE = "本群体的评议链接已由组织者暂停，暂不接收提交。请稍后再试，或联系组织者。"


def set_paused(round_: Round, group_key: str, paused: bool) -> Group:
    """Pause (or resume) a group's open link; flushes and audits only a change."""
    group = round_.group(group_key)
    if group is None:
        raise NotFound(f"round {round_.slug!r} has no group {group_key!r}")
    if not group.is_open:
        raise ServiceError(f"群体“{group.name}”凭评议码参评，没有开放链接可暂停。")
    if not round_.state.takes_codes and paused:
        raise ServiceError("评议已经结束，链接不再接收提交，无需暂停。")
    if group.paused != paused:
        group.paused = paused
        db.session.flush()
        audit.record("link.pause" if paused else "link.resume", round_slug=round_.slug, group=group_key)
    return group
