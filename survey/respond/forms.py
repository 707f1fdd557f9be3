"""The questionnaire form, built from a round's definition (one radio field per subject × item).

Field names are the contract's: ``a:<subject>:<item>`` for an answer, ``c:<subject>`` for a
comment. A field the round does not have, or one sent twice, makes the form malformed: that is
a tampered or stale page, answered 400, not a mistake for the respondent to correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from flask import current_app
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import Length, Optional

from scoring.scales import UNKNOWN, UNKNOWN_LABEL
from scoring.spec import Group, RoundSpec, Subject

from .. import clock

COMMENT_MAX = 1000


def answer_field(subject: str, item: str) -> str:
    return f"a:{subject}:{item}"


def comment_field(subject: str) -> str:
    return f"c:{subject}"


class QuestionnaireForm(FlaskForm):
    """Base of every generated questionnaire; ``ticket`` carries the signed receipt so that a
    retried POST is recognised and stored once."""

    ticket = HiddenField()

    #: set by ``make_questionnaire_form``
    answer_names: tuple[str, ...] = ()
    answer_values: frozenset[str] = frozenset()
    comment_names: tuple[str, ...] = ()

    malformed: str | None = None

    def validate(self, extra_validators=None) -> bool:  # noqa: ANN001
        self.malformed = self._malformed()
        if self.malformed:
            return False
        ok = super().validate(extra_validators)
        if ok and not self.answers():
            self.form_errors.append("您还没有作出任何评价。请至少选择一项后再提交。")
            ok = False
        if ok and self.receipt() is None:
            self.malformed = "页面校验信息无效，请重新打开问卷页面后提交。"
            ok = False
        return ok

    def _malformed(self) -> str | None:
        data = getattr(self, "_submitted", None)
        if data is None:
            return None
        answers = set(self.answer_names)
        known = answers | set(self.comment_names)
        for name in data.keys():
            if name.startswith(("a:", "c:")) and name not in known:
                return f"问卷中没有“{name}”这一项，请重新打开问卷页面后提交。"
            values = data.getlist(name)
            if any("\x00" in value for value in values):  # no keyboard types one; PostgreSQL cannot store one
                return "提交的内容含有无效字符，请重新打开问卷页面后提交。"
            if len(values) > 1:
                return f"“{name}”提交了不止一次，请重新打开问卷页面后提交。"
            if name in answers and values[0] and values[0] not in self.answer_values:
                return f"“{values[0]}”不是本问卷的选项，请重新打开问卷页面后提交。"
        return None

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs) -> None:  # noqa: ANN001
        formdata = self.meta.wrap_formdata(self, formdata)
        self._submitted = formdata
        super().process(formdata, obj, data=data, extra_filters=extra_filters, **kwargs)

    def answers(self) -> dict[tuple[str, str], str]:
        """(subject, item) → level key or ``unknown``, for the items answered."""
        out: dict[tuple[str, str], str] = {}
        for name in self.answer_names:
            value = self[name].data
            if value:
                _, subject, item = name.split(":", 2)
                out[(subject, item)] = value
        return out

    def comments(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in self.comment_names:
            text = (self[name].data or "").strip()
            if text:
                out[name[2:]] = text
        return out

    def receipt(self) -> str | None:
        return read_ticket(self.ticket.data or "")

    def kept_fields(self) -> list[tuple[str, str]]:
        """The answers and comments as sent, (field name, value) in page order: what the
        unanswered-items page hands back, to the form or to be stored as it is."""
        data = getattr(self, "_submitted", None) or MultiDict()
        kept = []
        for name in (*self.answer_names, *self.comment_names):
            value = data.get(name, "")
            if value:
                kept.append((name, value))
        return kept


def _signer() -> URLSafeSerializer:
    return _signer_for(current_app.config["SECRET_KEY"])


@lru_cache(maxsize=8)
def _signer_for(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="ballot-receipt")


def make_ticket(receipt: str) -> str:
    """The signed ticket a questionnaire page carries: its receipt, and when the page was
    served (to the tenth of a second), so that a ballot sent back sooner than a person could
    read the page is known (``ticket_age``). Nothing of it is stored."""
    return _signer().dumps([receipt, round(clock.now(), 1)])


def _ticket(ticket: str) -> tuple[str, float | None] | None:
    try:
        value = _signer().loads(ticket)
    except BadSignature:
        return None
    if isinstance(value, str):  # a page served before tickets carried their time
        return value, None
    if (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
            and isinstance(value[1], (int, float)) and not isinstance(value[1], bool)):
        return value[0], float(value[1])
    return None


def read_ticket(ticket: str) -> str | None:
    """The receipt of a ticket this service signed; None for anything else."""
    found = _ticket(ticket)
    return found[0] if found is not None else None


def ticket_age(ticket: str) -> float | None:
    """Seconds since the ticket's page was served; None when the ticket is not this service's
    or does not say (a page served before tickets carried their time)."""
    found = _ticket(ticket)
    if found is None or found[1] is None:
        return None
    return clock.now() - found[1]


#: the hidden field of the unanswered-items page's 仍然提交 form: a ballot with unanswered
#: items is stored only with it; without it the page lists them first
CONFIRM_PARTIAL = "confirm_partial"
#: the hidden field of its 返回修改 form: the questionnaire again, with the answers kept
BACK_TO_FORM = "back_to_form"


@dataclass(frozen=True)
class Block:
    """One subject's part of the questionnaire, for the template."""

    subject: Subject
    fields: tuple[tuple[str, str], ...]  #: (field name, item text)
    comment: str | None


@dataclass(frozen=True)
class Unanswered:
    """An item left unanswered: where it is on the page, for the list and its link."""

    number: int  #: the question's number on the page, from 1
    subject: str  #: the subject's name
    item: str  #: the item's text


def make_questionnaire_form(spec: RoundSpec, group: Group) -> tuple[type[QuestionnaireForm], list[Block]]:
    """A form class for ``group``'s questionnaire, and the blocks the page shows, in spec order."""
    choices = [SelectChoice(level.key, level.label) for level in spec.scale.levels]
    choices.append(SelectChoice(UNKNOWN, UNKNOWN_LABEL))
    attrs: dict[str, object] = {}
    blocks: list[Block] = []
    for code in group.subjects:
        fields = []
        for item in spec.items:
            name = answer_field(code, item.key)
            attrs[name] = RadioField(item.text, choices=choices, validators=[Optional()])
            fields.append((name, item.text))
        comment = None
        if spec.comments:
            comment = comment_field(code)
            attrs[comment] = TextAreaField(
                "意见建议", validators=[Optional(), Length(max=COMMENT_MAX, message=f"意见建议最多{COMMENT_MAX}字。")]
            )
        blocks.append(Block(subject=spec.subject(code), fields=tuple(fields), comment=comment))
    attrs["answer_values"] = frozenset(c.value for c in choices)
    attrs["answer_names"] = tuple(n for b in blocks for n, _ in b.fields)
    attrs["comment_names"] = tuple(b.comment for b in blocks if b.comment)
    form_class = type("Questionnaire", (QuestionnaireForm,), attrs)
    return form_class, blocks


@dataclass(frozen=True)
class Questionnaire:
    """Everything about one group's questionnaire that stays the same between requests: the
    form class, the blocks the page shows, and the field names and values a submission may
    carry. Built once per (round, group, spec version) by the caller's cache."""

    form_class: type[QuestionnaireForm]
    blocks: list[Block]
    #: answer field name → (subject code, item key)
    answer_fields: dict[str, tuple[str, str]]
    answer_values: frozenset[str]
    #: comment field name → subject code
    comment_fields: dict[str, str]

    @property
    def question_count(self) -> int:
        """How many questions the page asks (subjects × items), shown at its top."""
        return len(self.answer_fields)

    def unanswered(self, answers: dict[tuple[str, str], str]) -> list[Unanswered]:
        """The questions ``answers`` leaves out, in page order ("不了解" is an answer)."""
        out = []
        number = 0
        for block in self.blocks:
            for name, text in block.fields:
                number += 1
                if self.answer_fields[name] not in answers:
                    out.append(Unanswered(number, block.subject.name, text))
        return out

    @classmethod
    def build(cls, spec: RoundSpec, group: Group) -> Questionnaire:
        form_class, blocks = make_questionnaire_form(spec, group)
        return cls(
            form_class=form_class,
            blocks=blocks,
            answer_fields={name: tuple(name.split(":", 2)[1:]) for name in form_class.answer_names},
            answer_values=form_class.answer_values,
            comment_fields={name: name[2:] for name in form_class.comment_names},
        )

    def clean(self, data: MultiDict) -> tuple[dict[tuple[str, str], str], dict[str, str], str] | None:
        """(answers, comments, receipt) of a submission with nothing wrong in it, else None.

        The same values ``form.answers()``, ``form.comments()`` and ``form.receipt()`` give for
        a form that validates. None (anything unusual: a field the page does not have, a value
        sent twice, a NUL, a long comment, no answer, a bad ticket) sends the caller to the
        form, which finds what is wrong and says it exactly as always.
        """
        answers: dict[tuple[str, str], str] = {}
        comments: dict[str, str] = {}
        answer_fields, comment_fields, values = self.answer_fields, self.comment_fields, self.answer_values
        for name, found in data.lists():
            if len(found) != 1:
                return None
            value = found[0]
            if "\x00" in value:
                return None
            where = answer_fields.get(name)
            if where is not None:
                if value:
                    if value not in values:
                        return None
                    answers[where] = value
                continue
            subject = comment_fields.get(name)
            if subject is not None:
                text = value.strip()
                if text:
                    if len(value) > COMMENT_MAX:
                        return None
                    comments[subject] = text
            elif name.startswith(("a:", "c:")):
                return None
        if not answers:
            return None
        receipt = read_ticket(data.get("ticket", ""))
        if receipt is None:
            return None
        return answers, comments, receipt
