"""The round spec: what is rated, by whom, and how it is scored.

One JSON file describes a round (docs/spec.md). The web service reads all of it; the scoring
library needs the scale, subjects, items, groups and ``scheme``. ``parse_spec`` checks every
field it knows and refuses the whole spec at the first error, naming the field, so that a round
is never half-defined.
"""

from __future__ import annotations

import json
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .scales import KEY_PATTERN, Scale, ScaleError, resolve_scale

CHINA_TZ = timezone(timedelta(hours=8))
METRICS = ("positive_share", "top_share", "negative_share", "public_score", "org_score")


class GroupAccess(str, enum.Enum):
    """How a group's respondents reach the questionnaire."""

    codes = "codes"  #: single-use ballot codes, one per person
    open = "open"  #: one QR link (an open link) for the whole group


#: who keeps the key of a round's ballot box: the server (the default) or a 监票人 (teller)
BALLOT_BOX_CUSTODIES = ("server", "teller")
#: ballots one client address may cast on an open link per minute, unless the group says
PER_ADDRESS_PER_MINUTE = 60
#: the same for an on-site group without ``expected`` (with one, its cap)
ON_SITE_PER_MINUTE = 1000
SLUG_PATTERN = KEY_PATTERN


class SpecError(ValueError):
    """A spec that is refused as a whole; ``field`` names what is wrong (e.g. ``groups[1].weight``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Subject:
    """A party branch, office or leader being rated; ``code`` is stable across years."""

    code: str
    name: str
    commitment: str | None = None  #: the subject's published 公开承诺, shown to respondents
    report: str | None = None  #: its 述职 (own account of the year), shown folded for raters to read first


@dataclass(frozen=True)
class Item:
    """One questionnaire item, asked about every subject; ``weight`` is w_i."""

    key: str
    text: str
    weight: float = 1.0


@dataclass(frozen=True)
class Group:
    """A respondent group (教职工, 学生, 离退休...) with its weight W_g."""

    key: str
    name: str
    weight: float
    subjects: tuple[str, ...]  #: subject codes this group rates (all, unless the spec limits it)
    access: GroupAccess | None = None  #: only the web service needs it
    expected: int | None = None  #: the group's size, for participation
    once_per_device: bool = True
    #: an open link takes at most ``expected`` × ``cap_factor`` ballots
    cap_factor: float = 1.1
    #: ballots one client address may cast on the open link in any minute (None: the default,
    #: ``address_rate``)
    per_address_per_minute: int | None = None
    #: an on-site session (现场测评): the group answers in one hall, its phones on one network
    on_site: bool = False

    def rates(self, subject: str) -> bool:
        return subject in self.subjects

    @property
    def cap(self) -> int | None:
        """The most ballots the open link takes: ``expected`` × ``cap_factor``, rounded down."""
        if self.expected is None:
            return None
        return int(self.expected * self.cap_factor + 1e-9)

    @property
    def address_rate(self) -> int:
        """Ballots one client address may cast on the open link in any minute.

        ``per_address_per_minute`` when the spec gives it. Otherwise ``PER_ADDRESS_PER_MINUTE``
        (60): a class of 50 behind one campus NAT, all answering at once, passes, and one
        client cannot take a quarter of a 300-person group's cap (82 of 330) in half a minute.
        An on-site group, whose whole hall shares one address, may take its whole cap in a
        minute (``ON_SITE_PER_MINUTE`` without a cap).
        """
        if self.per_address_per_minute is not None:
            return self.per_address_per_minute
        if self.on_site:
            return max(PER_ADDRESS_PER_MINUTE, self.cap or ON_SITE_PER_MINUTE)
        return PER_ADDRESS_PER_MINUTE


@dataclass(frozen=True)
class GradeBand:
    grade: str
    min: float


@dataclass(frozen=True)
class Rule:
    """``when metric is above/below threshold: grade/at_most target`` (docs/scoring.md, rule 7)."""

    metric: str
    direction: str  #: "above" or "below" (strict)
    threshold: float
    action: str  #: "grade" (set if worse) or "at_most" (lower if better)
    target: str
    review: bool = False

    def fires(self, value: float | None, tolerance: float = 0.0) -> bool:
        """Strictly above/below; a value within ``tolerance`` of the threshold is equal to it
        (a computed share can land a rounding error away from the threshold it equals)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if self.direction == "above":
            return value > self.threshold + tolerance
        return value < self.threshold - tolerance


@dataclass(frozen=True)
class Scheme:
    """How a round is scored; every default is the one docs/scoring.md names."""

    combine_organizational: float = 0.0
    combine_public: float = 1.0
    org_trim: int = 0
    min_group_responses: int = 1
    uniform_ballots: str = "count"  #: "count" or "exclude" (废票)
    grades: tuple[GradeBand, ...] = ()
    rules: tuple[Rule, ...] = ()
    top_share_cap: float | None = None
    top_share_rounding: str = "floor"  #: "floor" or "round" (half up)
    min_participation: float = 0.5
    display_min: int = 5
    interval_resamples: int = 2000
    interval_seed: int = 2012
    interval_level: float = 0.95


@dataclass(frozen=True)
class RoundSpec:
    slug: str | None
    title: str | None
    year: int | None
    opens_at: datetime | None
    closes_at: datetime | None
    scale: Scale
    subjects: tuple[Subject, ...]
    items: tuple[Item, ...]
    groups: tuple[Group, ...]
    comments: bool
    scheme: Scheme
    #: who keeps the ballot box key: "server" (服务器保管) or "teller" (监票人保管); only the
    #: web service uses it
    ballot_box: str = "server"
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def subject(self, code: str) -> Subject:
        for s in self.subjects:
            if s.code == code:
                return s
        raise KeyError(code)

    def group(self, key: str) -> Group:
        for g in self.groups:
            if g.key == key:
                return g
        raise KeyError(key)

    def item(self, key: str) -> Item:
        for i in self.items:
            if i.key == key:
                return i
        raise KeyError(key)

    @property
    def subject_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.subjects)

    @property
    def item_keys(self) -> tuple[str, ...]:
        return tuple(i.key for i in self.items)

    @property
    def group_keys(self) -> tuple[str, ...]:
        return tuple(g.key for g in self.groups)


def _num(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text(data: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{where}{key}", "must be a non-empty string")
    return value.strip()


def _key(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not KEY_PATTERN.match(value):
        raise SpecError(f"{where}{key}", "must match [A-Za-z0-9_-]{1,32}")
    return value


def _weight(data: Mapping[str, Any], where: str, default: float) -> float:
    value = data.get("weight", default)
    if isinstance(value, str):
        raise SpecError(f"{where}weight", f"must be a number, not text ({value!r} is in quotes)")
    if not _num(value) or value < 0:
        raise SpecError(f"{where}weight", "must be a number ≥ 0")
    return float(value)


def _datetime(data: Mapping[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SpecError(key, "must be an ISO 8601 date-time such as 2012-06-01T08:00:00+08:00")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SpecError(key, f"{value!r} is not an ISO 8601 date-time such as 2012-06-01T08:00:00+08:00") from None
    if parsed.tzinfo is None:  # a time without offset is Beijing time
        parsed = parsed.replace(tzinfo=CHINA_TZ)
    return parsed


def _list(data: Mapping[str, Any], key: str, *, minimum: int = 1) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or len(value) < minimum:
        raise SpecError(key, f"must be a list of at least {minimum} entr{'y' if minimum == 1 else 'ies'}")
    return value


def _obj(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(where, "must be an object")
    return value


def _parse_subjects(data: Mapping[str, Any]) -> tuple[Subject, ...]:
    subjects: list[Subject] = []
    seen: set[str] = set()
    for i, raw in enumerate(_list(data, "subjects")):
        where = f"subjects[{i}]."
        raw = _obj(raw, where[:-1])
        code = _key(raw, "code", where)
        if code in seen:
            raise SpecError(f"{where}code", f"duplicate subject code {code!r}")
        seen.add(code)
        name = _text(raw, "name", where)
        commitment = _text(raw, "commitment", where, required=False)
        report = _text(raw, "report", where, required=False)
        subjects.append(Subject(code=code, name=name or code, commitment=commitment, report=report))
    return tuple(subjects)


def _parse_items(data: Mapping[str, Any]) -> tuple[Item, ...]:
    items: list[Item] = []
    seen: set[str] = set()
    for i, raw in enumerate(_list(data, "items")):
        where = f"items[{i}]."
        raw = _obj(raw, where[:-1])
        key = _key(raw, "key", where)
        if key in seen:
            raise SpecError(f"{where}key", f"duplicate item key {key!r}")
        seen.add(key)
        items.append(Item(key=key, text=_text(raw, "text", where) or key, weight=_weight(raw, where, 1.0)))
    if sum(item.weight for item in items) <= 0:
        raise SpecError("items", "at least one item must have a positive weight")
    return tuple(items)


def _parse_groups(
    data: Mapping[str, Any], subject_codes: tuple[str, ...], *, require_access: bool
) -> tuple[Group, ...]:
    groups: list[Group] = []
    seen: set[str] = set()
    for i, raw in enumerate(_list(data, "groups")):
        where = f"groups[{i}]."
        raw = _obj(raw, where[:-1])
        key = _key(raw, "key", where)
        if key in seen:
            raise SpecError(f"{where}key", f"duplicate group key {key!r}")
        seen.add(key)
        name = _text(raw, "name", where) or key
        weight = _weight(raw, where, 1.0)
        access = raw.get("access")
        if access is None and require_access:
            raise SpecError(f"{where}access", "must be 'codes' or 'open'")
        if access is not None and access not in {a.value for a in GroupAccess}:
            raise SpecError(f"{where}access", "must be 'codes' or 'open'")
        if access is not None:
            access = GroupAccess(access)
        expected = raw.get("expected")
        if isinstance(expected, str):
            raise SpecError(f"{where}expected", f"must be a number, not text ({expected!r} is in quotes)")
        if expected is not None and (not isinstance(expected, int) or isinstance(expected, bool) or expected < 1):
            raise SpecError(f"{where}expected", "must be a whole number ≥ 1")
        rated = raw.get("subjects")
        if rated is None:
            rated_codes = subject_codes
        else:
            if not isinstance(rated, list) or not rated:
                raise SpecError(f"{where}subjects", "must be a non-empty list of subject codes")
            for code in rated:
                if code not in subject_codes:
                    raise SpecError(f"{where}subjects", f"names subject {code!r}, which the spec does not have")
            if len(set(rated)) != len(rated):
                raise SpecError(f"{where}subjects", "names a subject twice")
            rated_codes = tuple(c for c in subject_codes if c in rated)  # spec order
        once = raw.get("once_per_device", True)
        if not isinstance(once, bool):
            raise SpecError(f"{where}once_per_device", "must be true or false")
        if access is GroupAccess.open and weight > 0 and expected is None:
            raise SpecError(
                f"{where}expected",
                "is required for a group with open access and a positive weight: it caps how many "
                "ballots the open link takes",
            )
        cap_factor = raw.get("cap_factor", 1.1)
        if (not isinstance(cap_factor, (int, float)) or isinstance(cap_factor, bool)
                or not math.isfinite(cap_factor) or cap_factor < 1):
            raise SpecError(f"{where}cap_factor", "must be a number ≥ 1 (default 1.1)")
        rate = raw.get("per_address_per_minute")
        if rate is not None and (not isinstance(rate, int) or isinstance(rate, bool) or rate < 1):
            raise SpecError(f"{where}per_address_per_minute",
                            f"must be a whole number ≥ 1 (default {PER_ADDRESS_PER_MINUTE}; more for an on-site group)")
        on_site = raw.get("on_site", False)
        if not isinstance(on_site, bool):
            raise SpecError(f"{where}on_site", "must be true or false")
        groups.append(
            Group(key=key, name=name, weight=weight, subjects=rated_codes, access=access,
                  expected=expected, once_per_device=once, cap_factor=float(cap_factor),
                  per_address_per_minute=rate, on_site=on_site)
        )
    if sum(g.weight for g in groups) <= 0:
        raise SpecError("groups", "at least one group must have a positive weight")
    return tuple(groups)


def _parse_scheme(raw: object) -> Scheme:
    if raw is None:
        return Scheme()
    data = _obj(raw, "scheme")
    kwargs: dict[str, Any] = {}

    combine = data.get("combine")
    if combine is not None:
        combine = _obj(combine, "scheme.combine")
        a = combine.get("organizational", 0)
        b = combine.get("public", 1)
        for name, value in (("organizational", a), ("public", b)):
            if not _num(value) or value < 0:
                raise SpecError(f"scheme.combine.{name}", "must be a number ≥ 0")
        if a + b <= 0:
            raise SpecError("scheme.combine", "organizational + public must be positive")
        kwargs["combine_organizational"] = float(a)
        kwargs["combine_public"] = float(b)

    for name, minimum in (("org_trim", 0), ("min_group_responses", 1), ("display_min", 1),
                          ("interval_resamples", 1000), ("interval_seed", 0)):
        if name in data:
            value = data[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise SpecError(f"scheme.{name}", f"must be a whole number ≥ {minimum}")
            kwargs[name] = value

    if "uniform_ballots" in data:
        if data["uniform_ballots"] not in ("count", "exclude"):
            raise SpecError("scheme.uniform_ballots", "must be 'count' or 'exclude'")
        kwargs["uniform_ballots"] = data["uniform_ballots"]

    if "min_participation" in data:
        value = data["min_participation"]
        if not _num(value) or value < 0:
            raise SpecError("scheme.min_participation", "must be a number ≥ 0")
        kwargs["min_participation"] = float(value)

    if "interval_level" in data:
        value = data["interval_level"]
        if not _num(value) or not 0 < value < 1:
            raise SpecError("scheme.interval_level", "must be a number between 0 and 1")
        kwargs["interval_level"] = float(value)

    grades = parse_grades(data.get("grades"), "scheme.grades")
    kwargs["grades"] = grades
    kwargs["rules"] = parse_rules(data.get("rules"), grades, "scheme.rules", extra_metrics=())

    if data.get("top_share_cap") is not None:
        value = data["top_share_cap"]
        if not _num(value) or not 0 <= value <= 1:
            raise SpecError("scheme.top_share_cap", "must be a number from 0 to 1")
        if not grades:
            raise SpecError("scheme.top_share_cap", "needs scheme.grades")
        kwargs["top_share_cap"] = float(value)
    if "top_share_rounding" in data:
        if data["top_share_rounding"] not in ("floor", "round"):
            raise SpecError("scheme.top_share_rounding", "must be 'floor' or 'round'")
        kwargs["top_share_rounding"] = data["top_share_rounding"]
    return Scheme(**kwargs)


def parse_grades(raw: object, where: str) -> tuple[GradeBand, ...]:
    """Grade bands, best first, with strictly decreasing ``min``."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        raise SpecError(where, "must be a non-empty list of {grade, min}, best first")
    bands: list[GradeBand] = []
    for i, entry in enumerate(raw):
        entry = _obj(entry, f"{where}[{i}]")
        name = entry.get("grade")
        if not isinstance(name, str) or not name.strip():
            raise SpecError(f"{where}[{i}].grade", "must be a non-empty string")
        minimum = entry.get("min")
        if not _num(minimum):
            raise SpecError(f"{where}[{i}].min", "must be a number")
        if any(b.grade == name for b in bands):
            raise SpecError(f"{where}[{i}].grade", f"duplicate grade {name!r}")
        if bands and minimum >= bands[-1].min:
            raise SpecError(f"{where}[{i}].min", "grades must be listed best first, with decreasing min")
        bands.append(GradeBand(grade=name, min=float(minimum)))
    return tuple(bands)


def parse_rules(
    raw: object, grades: tuple[GradeBand, ...], where: str, *, extra_metrics: tuple[str, ...] | None
) -> tuple[Rule, ...]:
    """Grade rules; ``extra_metrics=None`` accepts any metric name (annual rules may name
    scorecard columns)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise SpecError(where, "must be a list")
    names = {b.grade for b in grades}
    rules: list[Rule] = []
    for i, entry in enumerate(raw):
        here = f"{where}[{i}]"
        entry = _obj(entry, here)
        metric = entry.get("metric")
        allowed = None if extra_metrics is None else METRICS + extra_metrics
        if not isinstance(metric, str) or (allowed is not None and metric not in allowed):
            raise SpecError(f"{here}.metric", f"must be one of {', '.join(allowed or METRICS)}")
        directions = [d for d in ("above", "below") if d in entry]
        if len(directions) != 1:
            raise SpecError(here, "needs exactly one of 'above' or 'below'")
        threshold = entry[directions[0]]
        if not _num(threshold):
            raise SpecError(f"{here}.{directions[0]}", "must be a number")
        actions = [a for a in ("grade", "at_most") if a in entry]
        if len(actions) != 1:
            raise SpecError(here, "needs exactly one of 'grade' or 'at_most'")
        target = entry[actions[0]]
        if target not in names:
            raise SpecError(f"{here}.{actions[0]}", f"{target!r} is not one of the grades")
        review = entry.get("review", False)
        if not isinstance(review, bool):
            raise SpecError(f"{here}.review", "must be true or false")
        rules.append(Rule(metric=metric, direction=directions[0], threshold=float(threshold),
                          action=actions[0], target=target, review=review))
    return tuple(rules)


def parse_spec(data: object, *, require_round: bool = False) -> RoundSpec:
    """Check a decoded spec and return it as a ``RoundSpec``.

    ``require_round`` is what the web service asks for: a slug, a title and each group's
    ``access``. The scoring library leaves them optional and ignores fields it does not use.

    Raises
    ------
    SpecError
        at the first field that is wrong, naming it.
    """
    data = _obj(data, "spec")
    slug = data.get("slug")
    if slug is not None or require_round:
        if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
            raise SpecError("slug", "must match [A-Za-z0-9_-]{1,32}")
    title = _text(data, "title", "", required=require_round)
    year = data.get("year")
    if year is not None and (not isinstance(year, int) or isinstance(year, bool) or not 1949 <= year <= 2200):
        raise SpecError("year", "must be a year such as 2012")
    opens_at = _datetime(data, "opens_at")
    closes_at = _datetime(data, "closes_at")
    if opens_at and closes_at and closes_at <= opens_at:
        raise SpecError("closes_at", "must be later than opens_at")
    try:
        scale = resolve_scale(data.get("scale", "satisfaction3"))
    except ScaleError as exc:
        raise SpecError(exc.field, exc.message) from None
    subjects = _parse_subjects(data)
    items = _parse_items(data)
    groups = _parse_groups(data, tuple(s.code for s in subjects), require_access=require_round)
    comments = data.get("comments", False)
    if not isinstance(comments, bool):
        raise SpecError("comments", "must be true or false")
    scheme = _parse_scheme(data.get("scheme"))
    ballot_box = data.get("ballot_box", "server")
    if ballot_box not in BALLOT_BOX_CUSTODIES:
        raise SpecError("ballot_box", "must be 'server' (服务器保管) or 'teller' (监票人保管)")
    return RoundSpec(slug=slug, title=title, year=year, opens_at=opens_at, closes_at=closes_at,
                     scale=scale, subjects=subjects, items=items, groups=groups,
                     comments=comments, scheme=scheme, ballot_box=ballot_box, raw=dict(data))


def load_spec(path: str | Path, *, require_round: bool = False) -> RoundSpec:
    """Read and check a spec file; errors name the file as well as the field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SpecError(str(path), f"cannot read: {exc.strerror}") from None
    from .input_limits import InputTooLarge, load_json_text

    try:
        data = load_json_text(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}:{exc.lineno}", f"not valid JSON: {exc.msg}") from None
    except InputTooLarge as exc:
        raise SpecError(str(path), f"refused: the JSON is {exc}") from None
    try:
        return parse_spec(data, require_round=require_round)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc.field}", exc.message) from None
