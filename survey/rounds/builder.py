"""The round builder: a draft's spec edited through plain forms.

The spec lives once, in ``Round.spec``. The builder turns the submitted form into a spec dict,
checks it with ``check_spec`` (the very check ``rounds import`` runs) and stores it; the
subject, item and group rows are then derived from it (updated in place by code and key, so
codes already issued to a group in the draft keep their group). Opening the round freezes
both. Errors come back keyed by form field, in Chinese.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from scoring.scales import BUILTIN_SCALES

from ..errors import Conflict, Forbidden, NotFound
from ..extensions import db
from ..models import BallotCode, Group, Item, Round, Subject
from ..timefmt import BEIJING, beijing
from .builtin import TEMPLATES, template_spec
from .services import SpecRefused, _utc, check_spec, import_round, refuse_reserved_keys

#: blank rows offered below the existing items and groups
SPARE_ROWS = 2

SCALE_CHOICES = [(name, " / ".join(level.label for level in scale.levels)) for name, scale in BUILTIN_SCALES.items()]

#: what each scheme setting does, one sentence each, shown beside its field
SCHEME_HELP = {
    "combine_org": "组织评价在总分中的权重（0 表示不用组织评价）。",
    "combine_public": "群众评议在总分中的权重；两者按比例合成总分。",
    "org_trim": "计算组织评价平均分时，去掉几个最高分和几个最低分。",
    "min_group_responses": "某群体对某对象的有效票少于此数时，该群体不计入该对象的得分（权重按比例分给其他群体）。",
    "display_min": "有效票少于此数的对象不显示分布和比例，以免推断出个人的选择（不填为默认）。",
    "uniform_ballots": "“排除”：对所有题目都选同一个等级（至少 3 题）的票视为废票，不计分。",
    "grades": "每行一个等次和最低分，从高到低，例如“优秀 90”。",
    "rules": "每行一条：指标 above/below 阈值 grade/at_most 等次 [review]。例如“negative_share above 0.3333 grade 较差 review”："
             "不满意比例超过三分之一的对象定为较差并交审查。指标：positive_share（好评比例）、negative_share（差评比例）、"
             "top_share（最高等级比例）、public_score、org_score。",
    "top_share_cap": "获得最高等次（如优秀）的对象最多占全部对象的比例，例如 0.2 表示 20%（不填为不限）。",
}

#: English messages of the spec check → Chinese, for the builder's pages
_MESSAGES = [
    (r"must be a non-empty string", "不能为空"),
    (r"must match \[A-Za-z0-9_-\]\{1,32\}", "只能用英文字母、数字、- 和 _，最多 32 个字符"),
    (r"must be a number ≥ 0", "须为不小于 0 的数"),
    (r"must be a number, not text \((.*) is in quotes\)", r"须为数字，而不是文字（\1 带了引号）"),
    (r"must be a whole number ≥ (\d+)", r"须为不小于 \1 的整数"),
    (r"duplicate subject code '(.*)'", r"\1 与前面的评议对象重复"),
    (r"duplicate item key '(.*)'", r"项目代码 \1 重复"),
    (r"duplicate group key '(.*)'", r"群体代码 \1 重复"),
    (r"at least one item must have a positive weight", "至少一个项目的权重须大于 0"),
    (r"at least one group must have a positive weight", "至少一个群体的权重须大于 0"),
    (r"must be 'codes' or 'open'", "须为“评议码”或“开放链接”"),
    (r"names subject '(.*)', which the spec does not have", r"评议对象 \1 不存在"),
    (r"names a subject twice", "同一评议对象写了两次"),
    (r"must be a non-empty list of subject codes", "至少写一个评议对象代码"),
    (r"must be a list of at least (\d+) entr(y|ies)", r"至少需要 \1 项"),
    (r"organizational \+ public must be positive", "两个权重之和须大于 0"),
    (r"must be later than opens_at", "须晚于开始时间"),
    (r"must be a year such as 2012", "须为年份，例如 2026"),
    (r"must be 'count' or 'exclude'", "须为“计入”或“排除”"),
    (r"must be a number from 0 to 1", "须为 0 到 1 之间的数"),
    (r"needs scheme.grades", "需要先设定等次"),
    (r"grades must be listed best first, with decreasing min", "等次须从高到低排列，最低分依次减小"),
    (r"duplicate grade '(.*)'", r"等次 \1 重复"),
    (r"must be one of (.*)", r"须为以下之一：\1"),
    (r"needs exactly one of 'above' or 'below'", "须写 above 或 below 之一"),
    (r"needs exactly one of 'grade' or 'at_most'", "须写 grade 或 at_most 之一"),
    (r"'(.*)' is not one of the grades", r"“\1”不是已设定的等次"),
    (r"must be at most (\d+) characters, not (\d+)", r"最多 \1 个字符（现在 \2 个）"),
    (r"must not contain a NUL character", "含有不允许的控制字符"),
    (r"a round '(.*)' already exists", r"已有标识为 \1 的评议"),
    (r"'receipts' is reserved.*", "receipts 是保留字，请换一个群体代码"),
    (r"must be 'server' \(服务器保管\) or 'teller' \(监票人保管\)", "须为“服务器保管”或“监票人保管”"),
    (r"must be a number", "须为数字"),
]


def chinese(message: str) -> str:
    for pattern, replacement in _MESSAGES:
        if re.search(pattern, message):
            return re.sub(pattern, replacement, message)
    return message


@dataclass
class BuilderErrors:
    """Errors by form field name; ``general`` for those that belong to no one field."""

    fields: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def get(self, name: str) -> list[str]:
        return self.fields.get(name, [])


class BuilderRefused(SpecRefused):
    """The form does not make a valid spec; ``errors`` says where."""

    def __init__(self, errors: BuilderErrors) -> None:
        first = next(iter(errors.fields.items()))
        super().__init__(f"{first[0]}: {first[1][0]}")
        self.errors = errors


# --- creating, copying, deleting ----------------------------------------------------------


def new_round_spec(*, slug: str, title: str, year: int | None, template: str | None = None,
                   copy_of: Round | None = None) -> dict[str, Any]:
    """The spec a new draft starts from: a built-in template, or an earlier round (its subject
    codes kept, so results compare across years; its times dropped)."""
    if copy_of is not None:
        spec = copy.deepcopy(copy_of.spec)
        for key in ("opens_at", "closes_at"):
            spec.pop(key, None)
        spec.update(slug=slug, title=title)
        if year is not None:
            spec["year"] = year
        return spec
    if template not in TEMPLATES:
        raise NotFound(f"没有名为“{template}”的模板 (no template {template!r})")
    return template_spec(template, slug=slug, title=title, year=year)


def create_round(spec: dict[str, Any]) -> Round:
    from ..auth import audit

    round_ = import_round(spec)
    audit.record("round.create", round_slug=round_.slug, title=round_.title)
    return round_


def delete_draft(round_: Round) -> None:
    """Delete a draft and everything of it (codes issued in the draft too)."""
    from ..auth import audit

    if not round_.state.deletable:
        raise Conflict(f"评议“{round_.title}”{round_.state.label}，只有草稿可以删除 "
                       f"(round {round_.slug!r} is {round_.status}: only a draft can be deleted)")
    audit.record("round.delete", round_slug=round_.slug, title=round_.title)
    db.session.execute(BallotCode.__table__.delete().where(BallotCode.round_id == round_.id))
    db.session.delete(round_)
    db.session.flush()


# --- storing an edited spec -----------------------------------------------------------------


def replace_spec(round_: Round, data: Any) -> Round:
    """Store ``data`` as the draft's spec (checked as ``rounds import`` checks it) and derive
    its rows. Refused unless the round is a draft, or if the slug changes."""
    from ..auth import audit

    if not round_.state.editable:
        raise Forbidden(f"评议“{round_.title}”{round_.state.label}，只有草稿可以修改 "
                        f"(round {round_.slug!r} is {round_.status}: only a draft can be edited)")
    if isinstance(data, dict) and data.get("slug") != round_.slug:
        raise SpecRefused(f"spec refused: slug: must stay {round_.slug!r} (a copy is made with 新建评议)")
    spec = check_spec(data)
    refuse_reserved_keys(spec)
    dropped = [g for g in round_.groups if spec.group(g.key) is None and g.codes_issued]
    if dropped:
        raise SpecRefused(
            f"spec refused: groups: group {dropped[0].key!r} already has issued codes; keep it, or delete the draft"
        )
    round_.title, round_.year = spec.title, spec.year
    round_.opens_at, round_.closes_at = _utc(spec.opens_at), _utc(spec.closes_at)
    round_.takes_comments = spec.comments
    round_.spec = dict(spec.raw)
    if round_.box_custody != spec.ballot_box:
        round_.box_custody = spec.ballot_box
        round_.box_public_key = None  # a 监票人's key received for the other custody no longer applies
    _derive_rows(round_, spec)
    db.session.flush()
    audit.record("round.edit", round_slug=round_.slug)
    return round_


def _derive_rows(round_: Round, spec: Any) -> None:
    subjects = {s.code: s for s in round_.subjects}
    kept: list[Subject] = []
    for i, s in enumerate(spec.subjects):
        row = subjects.get(s.code) or Subject(code=s.code)
        row.name, row.commitment, row.report, row.position = s.name, s.commitment, s.report, i
        kept.append(row)
    round_.subjects = kept
    by_code = {s.code: s for s in kept}
    items = {it.key: it for it in round_.items}
    kept_items: list[Item] = []
    for i, it in enumerate(spec.items):
        row = items.get(it.key) or Item(key=it.key)
        row.text, row.weight, row.position = it.text, it.weight, i
        kept_items.append(row)
    round_.items = kept_items
    groups = {g.key: g for g in round_.groups}
    kept_groups: list[Group] = []
    for i, g in enumerate(spec.groups):
        row = groups.get(g.key) or Group(key=g.key, codes_issued=0)
        row.name, row.weight, row.access, row.expected = g.name, g.weight, g.access.value, g.expected
        row.once_per_device, row.position = g.once_per_device, i
        row.per_address_per_minute, row.on_site = g.address_rate, g.on_site
        row.subjects = [by_code[c] for c in g.subjects]
        kept_groups.append(row)
    round_.groups = kept_groups


def spec_json(round_: Round) -> bytes:
    return (json.dumps(round_.spec, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# --- the form ----------------------------------------------------------------------------


def _local(value: str | None) -> str:
    """A spec time as the value of an <input type=datetime-local>, in Beijing time."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return beijing(moment).strftime("%Y-%m-%dT%H:%M")


def _num_text(value: Any) -> str:
    """A number as typed back: short when that is exact, else in full (1/3 stays 1/3)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def form_values(spec: dict[str, Any]) -> dict[str, Any]:
    """What the builder's fields show for ``spec``."""
    scheme = spec.get("scheme") or {}
    combine = scheme.get("combine") or {}
    rules = []
    for r in scheme.get("rules") or []:
        direction = "above" if "above" in r else "below"
        action = "grade" if "grade" in r else "at_most"
        rules.append(f"{r.get('metric')} {direction} {_num_text(r.get(direction))} {action} {r.get(action)}"
                     + (" review" if r.get("review") else ""))
    return {
        "title": spec.get("title", ""),
        "year": spec.get("year") or "",
        "opens_at": _local(spec.get("opens_at")),
        "closes_at": _local(spec.get("closes_at")),
        "scale": spec.get("scale") if isinstance(spec.get("scale"), str) else "",
        "inline_scale": None if isinstance(spec.get("scale"), str) else spec.get("scale"),
        "subjects": "\n".join(f"{s.get('code', '')} {s.get('name', '')}" for s in spec.get("subjects", [])),
        "subject_rows": spec.get("subjects", []),
        "items": spec.get("items", []) + [{}] * SPARE_ROWS,
        "groups": spec.get("groups", []) + [{}] * SPARE_ROWS,
        "comments": bool(spec.get("comments")),
        "ballot_box": spec.get("ballot_box", "server"),
        "combine_org": combine.get("organizational", ""),
        "combine_public": combine.get("public", ""),
        "org_trim": scheme.get("org_trim", ""),
        "min_group_responses": scheme.get("min_group_responses", ""),
        "display_min": scheme.get("display_min", ""),
        "uniform_ballots": scheme.get("uniform_ballots", "count"),
        "grades": "\n".join(f"{g['grade']} {_num_text(g['min'])}" for g in scheme.get("grades") or []),
        "rules": "\n".join(rules),
        "top_share_cap": scheme.get("top_share_cap", ""),
    }


def _number(text: str, name: str, errors: BuilderErrors, *, whole: bool = False) -> float | int | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        errors.add(name, f"须为数字，而不是“{text}”")
        return None
    if whole:
        if value != int(value):
            errors.add(name, f"须为整数，而不是“{text}”")
            return None
        return int(value)
    return int(value) if value == int(value) and "." not in text else value


def _time(text: str, name: str, errors: BuilderErrors) -> str | None:
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors.add(name, f"时间格式应为 2026-12-01T08:00，而不是“{text}”")
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)  # the form's times are Beijing time
    return moment.isoformat()


def spec_from_form(form: MultiDict, base: dict[str, Any]) -> dict[str, Any]:
    """The spec the builder's form describes, on top of ``base`` (the stored spec: settings
    the form does not show are kept). Raises ``BuilderRefused`` with errors by field."""
    errors = BuilderErrors()
    spec = copy.deepcopy(base)
    spec["title"] = form.get("title", "").strip()
    year = _number(form.get("year", ""), "year", errors, whole=True)
    spec.pop("year", None) if year is None else spec.__setitem__("year", year)
    for key in ("opens_at", "closes_at"):
        value = _time(form.get(key, ""), key, errors)
        spec.pop(key, None) if value is None else spec.__setitem__(key, value)
    if form.get("scale"):
        spec["scale"] = form["scale"]
    spec["comments"] = form.get("comments") == "on"
    custody = form.get("ballot_box")
    if custody is not None and (custody != "server" or "ballot_box" in spec):
        spec["ballot_box"] = custody

    old = {s.get("code"): s for s in base.get("subjects", [])}
    subjects = []
    for number, line in enumerate(form.get("subjects", "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        head, _, promise = line.partition("|")
        parts = head.split(None, 1)
        code, name = parts[0], (parts[1].strip() if len(parts) > 1 else "")
        if not name:
            errors.add("subjects", f"第 {number} 行“{line}”：应为“代码 名称”，例如“B01 计算机学院党总支”")
            continue
        subject = {"code": code, "name": name}
        commitment = form.get(f"commitment:{code}", (old.get(code) or {}).get("commitment") or "").strip()
        if promise.strip():
            commitment = promise.strip()
        report = form.get(f"report:{code}", (old.get(code) or {}).get("report") or "").strip()
        if commitment:
            subject["commitment"] = commitment
        if report:
            subject["report"] = report
        subjects.append(subject)
    spec["subjects"] = subjects

    items = []
    for i in range(int(form.get("item_rows", 0) or 0)):
        key, text = form.get(f"items-{i}-key", "").strip(), form.get(f"items-{i}-text", "").strip()
        weight = form.get(f"items-{i}-weight", "").strip()
        if not (key or text or weight):
            continue
        value = _number(weight or "1", f"items-{i}-weight", errors)
        items.append({"key": key, "text": text, "weight": 1 if value is None else value})
    spec["items"] = items

    groups = []
    old_groups = {g.get("key"): g for g in base.get("groups", [])}
    for i in range(int(form.get("group_rows", 0) or 0)):
        key, name = form.get(f"groups-{i}-key", "").strip(), form.get(f"groups-{i}-name", "").strip()
        if not (key or name):
            continue
        group = {k: v for k, v in (old_groups.get(key) or {}).items() if k not in ("subjects", "expected")}
        group.update(key=key, name=name, access=form.get(f"groups-{i}-access", "codes"))
        weight = _number(form.get(f"groups-{i}-weight", "") or "1", f"groups-{i}-weight", errors)
        group["weight"] = 1 if weight is None else weight
        expected = _number(form.get(f"groups-{i}-expected", ""), f"groups-{i}-expected", errors, whole=True)
        if expected is not None:
            group["expected"] = expected
        rated = [c for c in re.split(r"[\s,，、]+", form.get(f"groups-{i}-subjects", "")) if c]
        if rated:
            group["subjects"] = rated
        group["once_per_device"] = form.get(f"groups-{i}-once") == "on"
        if form.get(f"groups-{i}-on-site") == "on":
            group["on_site"] = True
        else:
            group.pop("on_site", None)
        groups.append(group)
    spec["groups"] = groups

    scheme = dict(spec.get("scheme") or {})
    org = _number(form.get("combine_org", ""), "combine_org", errors)
    public = _number(form.get("combine_public", ""), "combine_public", errors)
    if org is None and public is None:
        scheme.pop("combine", None)
    else:
        scheme["combine"] = {"organizational": org or 0, "public": public or 0}
    for name in ("org_trim", "min_group_responses", "display_min"):
        value = _number(form.get(name, ""), name, errors, whole=True)
        scheme.pop(name, None) if value is None else scheme.__setitem__(name, value)
    if form.get("uniform_ballots") == "exclude" or "uniform_ballots" in scheme:
        scheme["uniform_ballots"] = "exclude" if form.get("uniform_ballots") == "exclude" else "count"
    grades = []
    for number, line in enumerate(form.get("grades", "").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            errors.add("grades", f"第 {number} 行“{line.strip()}”：应为“等次 最低分”，例如“优秀 90”")
            continue
        minimum = _number(parts[1], "grades", errors)
        if minimum is not None:
            grades.append({"grade": parts[0], "min": minimum})
    scheme.pop("grades", None) if not grades else scheme.__setitem__("grades", grades)
    rules = []
    for number, line in enumerate(form.get("rules", "").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        review = parts[-1] == "review"
        if review:
            parts = parts[:-1]
        if len(parts) != 5 or parts[1] not in ("above", "below") or parts[3] not in ("grade", "at_most"):
            errors.add("rules", f"第 {number} 行“{line.strip()}”：应为“指标 above/below 阈值 grade/at_most 等次 [review]”")
            continue
        threshold = _number(parts[2], "rules", errors)
        if threshold is None:
            continue
        rule = {"metric": parts[0], parts[1]: threshold, parts[3]: parts[4]}
        if review:
            rule["review"] = True
        rules.append(rule)
    scheme.pop("rules", None) if not rules else scheme.__setitem__("rules", rules)
    cap = _number(form.get("top_share_cap", ""), "top_share_cap", errors)
    scheme.pop("top_share_cap", None) if cap is None else scheme.__setitem__("top_share_cap", cap)
    spec["scheme"] = scheme
    for message in spec_refusals(spec):
        for name, texts in _locate(message, spec).fields.items():
            if not errors.get(name):  # a field the form could not read says that, once
                for text in texts:
                    errors.add(name, text)
    if errors:
        raise BuilderRefused(errors)
    return spec


#: most refusals collected from one spec (each found by checking it again)
MAX_REFUSALS = 60


def spec_refusals(spec: dict[str, Any]) -> list[str]:
    """Every refusal of ``check_spec`` in ``spec``, not just the first: after each, a copy has
    the refused value set aside (a neutral value, or the setting dropped) and is checked
    again, so that a form with several mistakes shows them all on one save. Empty when the
    spec is accepted."""
    candidate = copy.deepcopy(spec)
    found: list[str] = []
    for _ in range(MAX_REFUSALS):
        try:
            check_spec(candidate)
        except SpecRefused as exc:
            message = str(exc)
        else:
            return found
        if message in found:  # setting it aside did not help: nothing more to learn
            return found
        found.append(message)
        if not _set_aside(candidate, message.removeprefix("spec refused: ").partition(": ")[0]):
            return found
    return found


def _set_aside(spec: dict[str, Any], path: str) -> bool:
    """Replace what ``path`` names in ``spec`` by a value the check accepts; False when
    nothing sensible can stand in for it (the check stops there)."""
    found = re.fullmatch(r"(subjects|items|groups)\[(\d+)\]\.?(\w*)", path)
    if found:
        kind, index, attr = found.group(1), int(found.group(2)), found.group(3)
        rows = spec.get(kind)
        if not isinstance(rows, list) or index >= len(rows) or not isinstance(rows[index], dict):
            return False
        row = rows[index]
        stand_ins = {"code": f"_s{index}", "key": f"_{kind[0]}{index}", "name": "—", "text": "—", "weight": 1,
                     "access": "codes", "expected": 1}
        if attr in stand_ins:
            row[attr] = stand_ins[attr]
        elif attr:
            row.pop(attr, None)
        else:
            return False
        return True
    if path in ("items", "groups"):
        rows = spec.get(path)
        if isinstance(rows, list) and rows and isinstance(rows[0], dict):
            rows[0]["weight"] = 1
            return True
        return False
    if path.startswith("scheme"):
        scheme = spec.get("scheme")
        if not isinstance(scheme, dict):
            spec.pop("scheme", None)
            return True
        name = path.split(".")[1].split("[")[0] if "." in path else ""
        if not name:
            spec.pop("scheme", None)
            return True
        scheme.pop(name, None)
        if name == "grades":  # rules and the cap name grades: checked again without them
            scheme.pop("rules", None)
            scheme.pop("top_share_cap", None)
        return True
    stand_ins = {"title": "—", "scale": "satisfaction3", "comments": False}
    if path in stand_ins:
        spec[path] = stand_ins[path]
        return True
    if path in ("year", "opens_at", "closes_at"):
        spec.pop(path, None)
        return True
    return False


_SCHEME_FIELDS = {
    "scheme.combine.organizational": "combine_org", "scheme.combine.public": "combine_public",
    "scheme.combine": "combine_public", "scheme.org_trim": "org_trim",
    "scheme.min_group_responses": "min_group_responses", "scheme.display_min": "display_min",
    "scheme.uniform_ballots": "uniform_ballots", "scheme.top_share_cap": "top_share_cap",
}


def _locate(message: str, spec: dict[str, Any]) -> BuilderErrors:
    """A refusal of ``check_spec`` as an error beside the form field it is about."""
    errors = BuilderErrors()
    text = message.removeprefix("spec refused: ")
    path, _, what = text.partition(": ")
    what = chinese(what)
    found = re.match(r"(subjects|items|groups)\[(\d+)\]\.?(\w*)", path)
    if found:
        kind, index, attr = found.group(1), int(found.group(2)), found.group(3)
        if kind == "subjects":
            code = spec["subjects"][index].get("code", "") if index < len(spec["subjects"]) else ""
            label = {"code": "代码", "name": "名称", "commitment": "公开承诺", "report": "述职报告"}.get(attr, attr)
            if attr == "code":
                what = what.removeprefix(f"{code} ")  # the code is named in the parentheses
            if attr in ("commitment", "report"):
                errors.add(f"{attr}:{code}", f"{label}{what}")
            else:
                errors.add("subjects", f"第 {index + 1} 个对象（{code}）的{label}{what}")
        else:
            errors.add(f"{kind}-{index}-{attr or 'key'}", what)
    elif path in _SCHEME_FIELDS:
        errors.add(_SCHEME_FIELDS[path], what)
    elif path.startswith("scheme.grades"):
        errors.add("grades", what)
    elif path.startswith("scheme.rules"):
        number = re.search(r"\[(\d+)\]", path)
        errors.add("rules", (f"第 {int(number.group(1)) + 1} 条：" if number else "") + what)
    elif path in ("title", "year", "opens_at", "closes_at", "scale", "comments", "ballot_box", "subjects", "items",
                  "groups"):
        errors.add(path, what)
    else:
        errors.add("general", f"{path}：{what}")
    return errors


def effective_shares(spec: dict[str, Any]) -> tuple[float, list[tuple[str, float]]] | None:
    """When the group weights of ``spec`` do not add up to 1: their sum and each group's
    share of the public score as scoring uses them (weight ÷ sum); None when they add up
    (to within rounding) or cannot be read."""
    groups = [(g.get("name") or g.get("key") or "", g.get("weight", 1)) for g in spec.get("groups") or []]
    if not groups or not all(isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0 for _, w in groups):
        return None
    total = float(sum(w for _, w in groups))
    if total <= 0 or abs(total - 1) < 1e-9:
        return None
    return total, [(name, w / total) for name, w in groups]


def shares_words(shares: tuple[float, list[tuple[str, float]]]) -> str:
    total, parts = shares
    listed = "、".join(f"{name} {share * 100:.1f}%" for name, share in parts)
    return f"群体权重之和为 {total:g}，不是 1：计分时按比例折算，实际占比为 {listed}。"


def issued_codes(round_: Round) -> int:
    return db.session.scalar(select(func.count()).select_from(BallotCode).where(BallotCode.round_id == round_.id)) or 0
