"""Creating a round from its spec, and closing it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from scoring.spec import RoundSpec, SpecError, parse_spec

from ..errors import NotFound, ServiceError
from ..extensions import db
from ..ballotbox.box import custody_of, make_box, opening_key
from ..ballotbox.opening import Progress, open_box, seal_the_past
from ..database import unit_of_work, write_unit_of_work
from ..models import Ballot, Group, Item, Round, Subject, round_spec  # round_spec: re-exported for the pages
from .lifecycle import RoundStatus, transition


class SpecRefused(ServiceError):
    """The spec has an error; nothing of it was stored."""


def check_spec(data: Any) -> RoundSpec:
    """Validate a decoded spec for the service (slug, title and access are required here)."""
    try:
        spec = parse_spec(data, require_round=True)
    except SpecError as exc:
        raise SpecRefused(f"spec refused: {exc}") from None
    _check_storable(spec)
    return spec


def _check_storable(spec: RoundSpec) -> None:
    """Refuse text the database cannot keep: longer than its column, or holding a NUL
    (PostgreSQL would fail half-way through the import; SQLite would keep it silently)."""
    texts = [("title", spec.title, Round.__table__.c.title.type.length)]
    texts += [(f"subjects[{i}].name", s.name, Subject.__table__.c.name.type.length) for i, s in enumerate(spec.subjects)]
    texts += [(f"subjects[{i}].commitment", s.commitment, None) for i, s in enumerate(spec.subjects)]
    texts += [(f"subjects[{i}].report", s.report, None) for i, s in enumerate(spec.subjects)]
    texts += [(f"items[{i}].text", it.text, Item.__table__.c.text.type.length) for i, it in enumerate(spec.items)]
    texts += [(f"groups[{i}].name", g.name, Group.__table__.c.name.type.length) for i, g in enumerate(spec.groups)]
    for field, value, limit in texts:
        if value is not None and "\x00" in value:
            raise SpecRefused(f"spec refused: {field}: must not contain a NUL character")
        if value is not None and limit is not None and len(value) > limit:
            raise SpecRefused(f"spec refused: {field}: must be at most {limit} characters, not {len(value)}")


#: group keys the service's own addresses use (``/r/<slug>/receipts`` is the receipts page)
RESERVED_GROUP_KEYS = frozenset({"receipts"})


def refuse_reserved_keys(spec: RoundSpec) -> None:
    """Refuse a spec whose group key would shadow one of the service's own addresses."""
    for group in spec.groups:
        if group.key in RESERVED_GROUP_KEYS:
            raise SpecRefused(f"spec refused: groups: {group.key!r} is reserved for the receipts page; pick another key")


def import_round(data: Any) -> Round:
    """Create a draft round from a spec; the spec is refused as a whole on any error."""
    spec = check_spec(data)
    refuse_reserved_keys(spec)
    if db.session.scalar(select(Round.id).where(Round.slug == spec.slug)) is not None:
        raise SpecRefused(f"spec refused: slug: a round {spec.slug!r} already exists")
    round_ = Round(
        slug=spec.slug, title=spec.title, year=spec.year, status=RoundStatus.draft.value,
        opens_at=_utc(spec.opens_at), closes_at=_utc(spec.closes_at), takes_comments=spec.comments,
        spec=dict(spec.raw), box_custody=spec.ballot_box,
    )
    subjects = {
        s.code: Subject(code=s.code, name=s.name, commitment=s.commitment, report=s.report, position=i)
        for i, s in enumerate(spec.subjects)
    }
    round_.subjects = list(subjects.values())
    round_.items = [Item(key=it.key, text=it.text, weight=it.weight, position=i) for i, it in enumerate(spec.items)]
    round_.groups = [
        Group(key=g.key, name=g.name, weight=g.weight, access=g.access.value, expected=g.expected,
              once_per_device=g.once_per_device, per_address_per_minute=g.address_rate, on_site=g.on_site,
              position=i, subjects=[subjects[c] for c in g.subjects])
        for i, g in enumerate(spec.groups)
    ]
    db.session.add(round_)
    db.session.flush()
    return round_


def _utc(moment: datetime | None) -> datetime | None:
    """Stored in UTC: SQLite keeps no offset, so every stored time means UTC."""
    return moment.astimezone(timezone.utc) if moment else None


def get_round(slug: str) -> Round:
    """The round with ``slug``, or ``NotFound`` naming it."""
    round_ = db.session.scalar(select(Round).where(Round.slug == slug))
    if round_ is None:
        raise NotFound(f"no round {slug!r}")
    return round_


@dataclass(frozen=True)
class Closed:
    """What closing a round did, for the person who asked and the audit log."""

    ballots: int  #: the round's ballots, all opened from its box
    unreadable: int  #: boxes that did not open or did not check, over the whole close
    codes_destroyed: int

    def words(self, slug: str) -> str:
        said = f"{slug}：评议已结束；开箱计票 {self.ballots} 张选票，销毁未使用的评议码 {self.codes_destroyed} 个"
        if self.unreadable:
            said += f"；另有 {self.unreadable} 张密封选票无法打开或内容无效，未计入（已记入审计日志）"
        return said + "。选票已按随机顺序、以新的随机编号保存，任何评议码都无法再与选票对应。"


def close_round(round_: Round, key: bytes | None = None, *, progress: Progress | None = None) -> Closed:
    """Close ``round_``: it takes no more ballots, its ballot box is opened and counted, its
    unused codes are destroyed. Commits as it goes (each step its own unit of work).

    The key is checked first: a wrong or missing one (``WrongKey``) refuses with nothing
    changed. Then the round moves to ``closing`` in one short transaction, after which no ballot
    is stored (a ballot's transaction reads the status under a share lock, so every ballot
    either committed before this or is refused). The box is opened in chunks
    (``ballotbox.opening.open_box``); the last transaction rewrites the receipts, destroys the
    codes, drops the sealed rows with their tables' files and moves the round to ``closed``.
    A close interrupted after the first step leaves the round ``closing``; closing it again
    finishes the work.
    """
    from ..auth import audit

    slug = round_.slug
    if not round_.state.box_sealed:
        transition(round_, "close")  # raises, saying why
    opening = opening_key(round_, key)  # refuses before anything changes
    if round_.state is RoundStatus.open:
        with unit_of_work():
            transition(round_, "close")
    open_box(round_, opening, progress=progress)
    try:
        with write_unit_of_work():
            round_ = db.session.scalar(select(Round).where(Round.slug == slug).with_for_update())
            counted = db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.round_id == round_.id))
            if not round_.state.box_sealed:  # another close finished it meanwhile
                return Closed(counted, round_.box_unreadable, 0)
            dropped = seal_the_past(round_)
            transition(round_, "count")
            round_.closed_at = datetime.now(timezone.utc)
            result = Closed(counted, round_.box_unreadable, dropped)
            audit.record("round.close", round_slug=slug, ballots_opened=counted,
                         unreadable=round_.box_unreadable, codes_destroyed=dropped)
    except OperationalError as exc:
        if not _lock_refused(exc):
            raise
        raise CloseInterrupted(
            f"{slug}：选票已全部开启，但另一个数据库会话长时间占用选票表，最后一步未能完成；评议保持“计票中”，"
            f"不会丢失任何选票。请稍后再次执行 flask --app survey rounds close {slug} 完成结束评议"
        ) from None
    _keep_results(slug)
    return result


def _keep_results(slug: str) -> None:
    """Score the closed round once and keep it, so the reviewers' pages only read. A failure
    here loses nothing (the ballots are stored; the pages score the round when they find no
    kept results), so it is logged, not raised."""
    # imported here: survey.scorecard imports the round states from this package
    from ..scorecard.services import keep_results

    try:
        with unit_of_work():
            keep_results(get_round(slug))
    except Exception:  # noqa: BLE001
        logging.getLogger(__name__).exception("keeping the results of %s failed; the pages will score it", slug)


class CloseInterrupted(ServiceError):
    """The close could not take its last step now; closing again finishes it."""

    http_status = 503


def _lock_refused(exc: OperationalError) -> bool:
    """Whether the database gave up waiting for a lock (PostgreSQL's lock_timeout; SQLite's
    busy timeout)."""
    code = getattr(exc.orig, "sqlstate", None)
    return code == "55P03" or "locked" in str(exc.orig)


#: what each lifecycle move does, said before it is done (the console's confirmation pages)
MOVE_EFFECTS: dict[str, list[str]] = {
    "open": [
        "问卷开始接受提交（在评议设定的起止时间之内）。",
        "评议的题目、对象、群体和计分方案从此冻结，不能再修改。",
        "评议进行中，任何人（包括管理员）都看不到得分、比例、等次和意见，只能看到参评人数。",
    ],
    "close": [
        "问卷不再接受提交。",
        "用本轮的投票箱密钥打开密封的选票，逐张校验后按随机顺序、以新的随机编号保存；无法打开的选票会被计数并记入审计日志。",
        "所有未使用的评议码被销毁，存放密封选票和评议码的数据表连同文件一并重建，此后无法再把任何评议码与选票对应。",
        "结束后可以查看计分结果、导出数据。此操作不可撤销。",
    ],
    "publish": [
        "公开回执码列表：每位参评人可在公开页面核对自己的回执码是否被计入。",
        "组织评价从此不能再修改。此操作不可撤销。",
    ],
}


def move_round(round_: Round, action: str, *, public_key: bytes | None = None) -> str:
    """Open or publish ``round_`` and record it in the audit log (flushes; the caller's unit of
    work commits); returns what happened, in words for the person who asked. The CLI and the
    console both call this. Closing is ``close_round``, which commits as it goes.

    Opening makes the round's ballot box: the server's key (服务器保管), or the 监票人's
    ``public_key`` for a round in 监票人保管.
    """
    from ..auth import audit
    from ..timefmt import beijing
    from .lifecycle import aware

    if action == "close":
        raise ValueError("close a round with close_round, which opens its ballot box")
    if action == "open":
        if not round_.state.editable:
            transition(round_, action)  # raises, saying why
        box = make_box(round_, public_key)  # refuses a teller round without its public key
        transition(round_, action)
        audit.record("round.open", round_slug=round_.slug, custody=round_.box_custody, box_fingerprint=box)
        now = datetime.now(timezone.utc)
        sealed = f"选票密封保存（投票箱密钥指纹 {box}，{custody_of(round_).label}）"
        if round_.opens_at is not None and aware(round_.opens_at) > now:
            start = beijing(round_.opens_at).strftime("%Y-%m-%d %H:%M")
            return f"{round_.slug}：已开始评议，自北京时间 {start}（评议设定的开始时间）起接受提交；{sealed}。"
        until = f"，至北京时间 {beijing(round_.closes_at).strftime('%Y-%m-%d %H:%M')} 止" if round_.closes_at else ""
        return f"{round_.slug}：已开始评议，现在起接受提交{until}；{sealed}。"
    transition(round_, action)
    audit.record(f"round.{action}", round_slug=round_.slug)
    return f"{round_.slug}：结果已公布，回执码列表已公开。"
