"""Answer scales: the levels a respondent can choose, with their points and polarity.

Every level carries a key (stored with the answer), a label (shown to the respondent), points
on 0–100 (what the level is worth in a score) and a polarity (whether it counts towards the
positive share 满意率, the negative share 不满意率, or neither). Every questionnaire also offers
不了解 ("don't know", key ``unknown``), which is not a level: it counts in no denominator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

UNKNOWN = "unknown"
UNKNOWN_LABEL = "不了解"
POLARITIES = ("positive", "neutral", "negative")
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class ScaleError(ValueError):
    """A scale that cannot be used; ``field`` names the offending part of the spec."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Level:
    """One answer a respondent can give, e.g. 满意 worth 100 points, positive."""

    key: str
    label: str
    points: float
    polarity: str


@dataclass(frozen=True)
class Scale:
    """An ordered set of levels, best first as written in the spec."""

    levels: tuple[Level, ...]
    name: str | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(level.key for level in self.levels)

    @property
    def top_points(self) -> float:
        """Points of the best level: the top share counts answers at this many points."""
        return max(level.points for level in self.levels)

    def level(self, key: str) -> Level:
        """The level with ``key``; ``KeyError`` when the scale has none."""
        for level in self.levels:
            if level.key == key:
                return level
        raise KeyError(key)

    def points(self) -> dict[str, float]:
        return {level.key: level.points for level in self.levels}

    def to_dict(self) -> dict[str, Any]:
        return {
            "levels": [
                {"key": lv.key, "label": lv.label, "points": lv.points, "polarity": lv.polarity}
                for lv in self.levels
            ]
        }


def _builtin(name: str, rows: list[tuple[str, str, float, str]]) -> Scale:
    return Scale(levels=tuple(Level(k, lab, float(p), pol) for k, lab, p, pol in rows), name=name)


BUILTIN_SCALES: Mapping[str, Scale] = {
    "satisfaction3": _builtin(
        "satisfaction3",
        [
            ("satisfied", "满意", 100, "positive"),
            ("basic", "基本满意", 60, "positive"),
            ("dissatisfied", "不满意", 0, "negative"),
        ],
    ),
    "satisfaction5": _builtin(
        "satisfaction5",
        [
            ("very_satisfied", "很满意", 100, "positive"),
            ("satisfied", "满意", 80, "positive"),
            ("basic", "基本满意", 60, "positive"),
            ("somewhat_dissatisfied", "不太满意", 30, "negative"),
            ("dissatisfied", "不满意", 0, "negative"),
        ],
    ),
    "rating4": _builtin(
        "rating4",
        [
            ("good", "好", 100, "positive"),
            ("fairly_good", "较好", 80, "positive"),
            ("average", "一般", 60, "neutral"),
            ("poor", "差", 40, "negative"),
        ],
    ),
    "competence4": _builtin(
        "competence4",
        [
            ("excellent", "优秀", 100, "positive"),
            ("competent", "称职", 80, "positive"),
            ("basic", "基本称职", 60, "neutral"),
            ("incompetent", "不称职", 30, "negative"),
        ],
    ),
    # 党员民主评议 (democratic appraisal of party members)
    "party4": _builtin(
        "party4",
        [
            ("excellent", "优秀", 100, "positive"),
            ("qualified", "合格", 80, "positive"),
            ("basically_qualified", "基本合格", 60, "neutral"),
            ("unqualified", "不合格", 0, "negative"),
        ],
    ),
}


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def resolve_scale(value: object, field: str = "scale") -> Scale:
    """The scale named by a spec's ``scale`` entry: a built-in name or ``{"levels": [...]}``.

    Raises
    ------
    ScaleError
        naming the field, for an unknown name or a malformed inline scale.
    """
    if isinstance(value, str):
        try:
            return BUILTIN_SCALES[value]
        except KeyError:
            known = ", ".join(BUILTIN_SCALES)
            raise ScaleError(field, f"unknown scale {value!r} (built-in scales: {known})") from None
    if not isinstance(value, Mapping):
        raise ScaleError(field, "must be a built-in scale name or an object with 'levels'")
    levels = value.get("levels")
    if not isinstance(levels, list) or len(levels) < 2:
        raise ScaleError(f"{field}.levels", "must be a list of at least 2 levels")
    seen: set[str] = set()
    parsed: list[Level] = []
    for i, raw in enumerate(levels):
        where = f"{field}.levels[{i}]"
        if not isinstance(raw, Mapping):
            raise ScaleError(where, "must be an object with key, label, points, polarity")
        key = raw.get("key")
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise ScaleError(f"{where}.key", "must match [A-Za-z0-9_-]{1,32}")
        if key == UNKNOWN:
            raise ScaleError(f"{where}.key", "'unknown' is reserved for 不了解")
        if key in seen:
            raise ScaleError(f"{where}.key", f"duplicate level key {key!r}")
        seen.add(key)
        label = raw.get("label")
        if not isinstance(label, str) or not label.strip():
            raise ScaleError(f"{where}.label", "must be a non-empty string")
        points = raw.get("points")
        if not _is_number(points) or not 0 <= points <= 100:
            raise ScaleError(f"{where}.points", "must be a number from 0 to 100")
        polarity = raw.get("polarity")
        if polarity not in POLARITIES:
            raise ScaleError(f"{where}.polarity", f"must be one of {', '.join(POLARITIES)}")
        parsed.append(Level(key, label.strip(), float(points), polarity))
    return Scale(levels=tuple(parsed))
