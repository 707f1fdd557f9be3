"""Reading the round's files with line-exact errors, and writing results so that a failure writes nothing.

Every reader accepts UTF-8 with or without a byte order mark and refuses bad input with an
:class:`~scoring.errors.InputError` naming the file and line (the header is line 1). Every
writer writes to a temporary file beside the target and renames it into place, so that an
error part-way leaves no half-written file; CSV files are written as UTF-8 *with* a byte order
mark, so that Excel opens Chinese text correctly.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .cells import plain_text
from .files import atomic_path
from .codes import answer_keys, combined
from .errors import InputError
from .scales import KEY_PATTERN, UNKNOWN
from .spec import RoundSpec
from .tallies import CodedAnswers, coded_column

ANSWER_COLUMNS = ("response_id", "group", "subject", "item", "answer")
ORG_COLUMNS = ("subject", "rater", "score")
#: a rater is a name or a role; the service stores it in a column this wide
RATER_MAX = 100


# --------------------------------------------------------------------------- reading


def csv_encoding(path: str | Path) -> str:
    """How a small CSV someone brings is encoded: ``utf-8-sig`` (UTF-8 with or without a byte
    order mark) when it decodes as UTF-8, else ``gb18030``, what Excel on a Chinese Windows
    saves as "CSV" (GBK is a subset of it). Unreadable files are left to the reader's errors."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return "utf-8-sig"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            data.decode("gb18030")
        except UnicodeDecodeError:
            return "utf-8-sig"
        return "gb18030"
    return "utf-8-sig"


def _read_header(path: Path, encoding: str = "utf-8-sig") -> list[str]:
    try:
        with path.open(encoding=encoding, newline="") as fh:
            first = fh.readline()
    except FileNotFoundError:
        raise InputError(path, None, "no such file") from None
    except OSError as exc:
        raise InputError(path, None, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(path, 1, "not UTF-8 text") from None
    if not first.strip():
        raise InputError(path, 1, "empty file: expected a header line")
    return next(csv.reader([first]))


def _check_header(path: Path, header: list[str], required: Sequence[str]) -> None:
    header = [h.strip() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(path, 1, f"missing column(s) {', '.join(missing)}; expected {','.join(required)}")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise InputError(path, 1, f"column(s) {', '.join(dupes)} appear more than once")


def _parser_error_line(message: str) -> int | None:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else None


def _reread_column(path: Path, column: str, row: int) -> str:
    """The raw text of ``column`` in data row ``row`` (error path only)."""
    frame = pd.read_csv(path, dtype=str, na_filter=False, encoding="utf-8-sig", skip_blank_lines=False)
    return str(frame[column].iloc[row])


def read_answers(path: str | Path, spec: RoundSpec) -> pd.DataFrame:
    """Read and validate ``answers.csv`` (``response_id,group,subject,item,answer``).

    Returns a frame with those five columns as categoricals: ``group``, ``subject``, ``item``
    coded by spec order, ``answer`` by the scale's levels then ``unknown``, and ``response_id``
    by first appearance.

    Raises
    ------
    InputError
        as :func:`read_answer_codes`.
    """
    coded, ids = _read_answers(Path(path), spec)
    return pd.DataFrame({
        "response_id": pd.Categorical.from_codes(coded.ballot, categories=pd.Index(ids, dtype=object),
                                                 validate=False),
        "group": coded_column(coded.group, spec.group_keys),
        "subject": coded_column(coded.subject, spec.subject_codes),
        "item": coded_column(coded.item, spec.item_keys),
        "answer": coded_column(coded.answer, answer_keys(spec)),
    })


def read_answer_codes(path: str | Path, spec: RoundSpec) -> CodedAnswers:
    """Read and validate ``answers.csv`` straight into integer codes (what
    :func:`scoring.tallies.tally_codes` takes): ballots numbered by first appearance, the other
    columns by their position in the spec (answers: the scale's levels, then ``unknown``).

    Raises
    ------
    InputError
        naming the line of the first row that names a group, subject, item or level the spec
        lacks, a subject its group does not rate, an empty field, a row with the wrong number
        of fields, a ballot that appears in two groups, or an item answered twice on one ballot.
    """
    return _read_answers(Path(path), spec)[0]


def _read_answers(path: Path, spec: RoundSpec) -> tuple[CodedAnswers, np.ndarray]:
    """The validated codes and the distinct ballot ids (in code order)."""
    header = _read_header(path)
    _check_header(path, header, ANSWER_COLUMNS)
    dtypes: dict[str, Any] = {c: "category" for c in ANSWER_COLUMNS[1:]}
    dtypes["response_id"] = str
    try:
        frame = pd.read_csv(path, dtype=dtypes, na_filter=False, encoding="utf-8-sig",
                            skip_blank_lines=False)
    except pd.errors.ParserError as exc:
        text = str(exc).strip().splitlines()[-1]
        raise InputError(path, _parser_error_line(text), f"malformed CSV: {text}") from None
    except UnicodeDecodeError:
        raise InputError(path, None, "not UTF-8 text") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = _drop_trailing_blank_rows(frame)
    for column in ANSWER_COLUMNS[1:]:  # keys written behind an apostrophe (scoring.cells)
        categories = list(frame[column].cat.categories)
        if any(plain_text(c) != c for c in categories):
            frame[column] = frame[column].astype(object).map(plain_text).astype("category")

    keys = {
        "group": spec.group_keys,
        "subject": spec.subject_codes,
        "item": spec.item_keys,
        "answer": answer_keys(spec),
    }
    coded: dict[str, np.ndarray] = {}
    for column, allowed in keys.items():
        coded[column] = _validated_codes(path, frame, column, allowed)

    rid_text = frame["response_id"].to_numpy(dtype=object)
    del frame
    starts = _run_starts(rid_text)
    if starts is not None:
        rid = _run_codes(starts)
        uniques = rid_text[starts]
    else:
        rid, uniques = _factorize(rid_text)
    blank = np.flatnonzero(uniques == "")
    if blank.size:
        row = int(np.flatnonzero(rid == blank[0])[0])
        raise InputError(path, row + 2, "empty response_id")

    g, s, i = coded["group"], coded["subject"], coded["item"]
    rates = _rates_matrix(spec)
    if not rates.all():
        wrong = np.flatnonzero(~rates.ravel()[combined(g, len(spec.subjects), s, rates.size)])
        if wrong.size:
            row = int(wrong[0])
            raise InputError(path, row + 2, f"group {spec.groups[g[row]].key!r} does not rate subject "
                                            f"{spec.subjects[s[row]].code!r}")
    n_ballots = len(uniques)
    if starts is not None:  # each ballot's rows are together: its group must not change within them
        group_of = g[starts]
        consistent = not np.any(np.not_equal(g[1:], g[:-1]) & ~starts[1:])
    else:
        group_of = np.empty(n_ballots, dtype=g.dtype)
        group_of[rid] = g
        consistent = not np.any(group_of[rid] != g)
    if not consistent:  # error path: name the first row that contradicts an earlier one
        group_of = np.empty(n_ballots, dtype=g.dtype)
        group_of[rid[::-1]] = g[::-1]  # the group of each ballot's first row
        row = int(np.flatnonzero(group_of[rid] != g)[0])
        raise InputError(path, row + 2, f"ballot {rid_text[row]!r} also appears in group "
                                        f"{spec.groups[group_of[rid[row]]].key!r}")
    n_s, n_i = len(spec.subjects), len(spec.items)
    # no repeat when, within each ballot's run, every (subject, item) comes after the last
    repeated = starts is None or not _ascending_within_runs(combined(s, n_i, i, n_s * n_i), starts)
    if repeated:
        key = combined(combined(rid, n_s, s, n_ballots * n_s), n_i, i, n_ballots * n_s * n_i)
        if n_ballots * n_s * n_i <= max(4 * len(key), 1 << 20):  # a dense count is cheap
            repeated = bool(key.size) and int(np.bincount(key).max()) > 1
    if repeated:
        dup_rows = np.flatnonzero(pd.Series(key).duplicated().to_numpy())
        if dup_rows.size:
            row = int(dup_rows[0])
            raise InputError(path, row + 2, f"ballot {rid_text[row]!r} answers item "
                                            f"{spec.items[i[row]].key!r} of subject "
                                            f"{spec.subjects[s[row]].code!r} twice")
    return CodedAnswers(ballot=rid, group=g, subject=s, item=i, answer=coded["answer"],
                        n_ballots=n_ballots, group_of=group_of), uniques


def number_ballots(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..R-1 of ballot ids and the R distinct ids, numbered by first appearance.

    Exports write each ballot's rows together; then numbering the runs of equal ids, after
    checking that no id starts two runs, is cheaper than hashing every row. Otherwise every
    row is hashed (``pd.factorize``).
    """
    starts = _run_starts(ids)
    if starts is not None:
        return _run_codes(starts), ids[starts]
    return _factorize(ids)


def _run_starts(ids: np.ndarray) -> np.ndarray | None:
    """Where each run of equal ids starts (a boolean per row), or ``None`` when an id starts
    two runs (its rows are not together)."""
    starts = np.empty(len(ids), dtype=bool)
    if len(ids):
        starts[0] = True
        np.not_equal(ids[1:], ids[:-1], out=starts[1:])
    heads = ids[starts]
    if len(set(heads)) == len(heads):  # a set of str hashes faster than a pandas Index
        return starts
    return None


def _run_codes(starts: np.ndarray) -> np.ndarray:
    codes = np.cumsum(starts, dtype=np.intp)
    codes -= 1
    return codes


def _factorize(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(ids)
    return codes.astype(np.intp, copy=False), np.asarray(uniques, dtype=object)


def _ascending_within_runs(key: np.ndarray, starts: np.ndarray) -> bool:
    """Whether ``key`` rises strictly from each row to the next within every run (so that no key
    repeats within a run). Exports write a ballot's answers in spec order, so this usually holds
    and saves counting every (ballot, subject, item)."""
    return bool(np.all((key[1:] > key[:-1]) | starts[1:]))


def _drop_trailing_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    end = len(frame)
    while end > 0 and all(str(v).strip() in ("", "nan") for v in frame.iloc[end - 1].tolist()):
        end -= 1
    return frame.iloc[:end] if end < len(frame) else frame


def _rates_matrix(spec: RoundSpec) -> np.ndarray:
    """rates[g, s]: whether group g rates subject s."""
    return np.array([[grp.rates(code) for code in spec.subject_codes] for grp in spec.groups], dtype=bool)


def _validated_codes(path: Path, frame: pd.DataFrame, column: str, allowed: Sequence[str]) -> np.ndarray:
    series = frame[column]
    if not isinstance(series.dtype, pd.CategoricalDtype):  # an empty file reads as plain columns
        series = series.astype(str).astype("category")
    cats = series.cat.categories
    if cats.dtype.kind in "iufb":  # all values looked numeric; read the text as written
        series = pd.read_csv(path, dtype={column: str}, na_filter=False, encoding="utf-8-sig",
                             skip_blank_lines=False, usecols=[column])[column].iloc[: len(frame)]
        series = series.astype("category")
        cats = series.cat.categories
    stripped = [str(c).strip() for c in cats]
    if stripped != [str(c) for c in cats] and len(set(stripped)) == len(stripped):
        series = series.cat.rename_categories(stripped)
    # recode to the spec's order (pandas recodes the small integer codes, not the strings);
    # anything the spec lacks, or an empty cell, becomes -1
    codes = series.cat.set_categories(list(allowed)).cat.codes.to_numpy()
    bad = np.flatnonzero(codes < 0) if codes.size and codes.min() < 0 else codes[:0]
    if bad.size:
        row = int(bad[0])
        value = _reread_column(path, column, row).strip()
        if column == "answer":
            choices = ", ".join(a for a in allowed if a != UNKNOWN) + f" or {UNKNOWN}"
            what = "level"
        else:
            choices = ", ".join(allowed)
            what = column
        if not value:
            raise InputError(path, row + 2, f"empty {column}")
        raise InputError(path, row + 2, f"{what} {value!r} is not in the spec (expected {choices})")
    return codes


def _csv_rows(path: Path, required: Sequence[str],
              aliases: dict[str, str] | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for each data row of a small CSV, with the header checked; ``aliases`` maps
    a heading people write (代码) to the column it stands for (subject)."""
    encoding = csv_encoding(path)
    header = _read_header(path, encoding)
    names = _named(header, aliases)
    _check_header(path, names, required)
    try:
        with path.open(encoding=encoding, newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            line = reader.line_num
            for fields in reader:
                start, line = line + 1, reader.line_num
                if not fields or all(not f.strip() for f in fields):
                    continue
                if len(fields) != len(names):
                    raise InputError(path, start, f"malformed CSV: expected {len(names)} fields, saw {len(fields)}")
                yield start, {n: plain_text(f.strip()) for n, f in zip(names, fields)}
    except csv.Error as exc:
        raise InputError(path, None, f"malformed CSV: {exc}") from None
    except UnicodeDecodeError:
        raise InputError(path, None, "not UTF-8 text") from None


def _named(header: Sequence[str], aliases: dict[str, str] | None) -> list[str]:
    names = [h.strip() for h in header]
    if aliases:
        names = [aliases.get(n, n) for n in names]
    return names


def _xlsx_rows(path: Path, required: Sequence[str],
               aliases: dict[str, str] | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, row) for each data row of a workbook's first sheet, as :func:`_csv_rows`
    gives them for a CSV: the first non-empty row is the header, cells are text (a whole
    number written as one: 85, not 85.0), empty rows are skipped."""
    from openpyxl import load_workbook

    from .input_limits import InputTooLarge, check_xlsx

    try:
        if path.is_file():  # the sizes its zip directory declares, before anything is unpacked
            check_xlsx(path)
        book = load_workbook(path, read_only=True, data_only=True)
    except InputTooLarge as exc:
        raise InputError(path, None, f"workbook too large to read: it {exc}") from None
    except FileNotFoundError:
        raise InputError(path, None, "no such file") from None
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise InputError(path, None, "not a valid xlsx workbook") from None
    try:
        names: list[str] | None = None
        for number, cells in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            texts = ["" if v is None else _cell_text(v).strip() for v in cells]
            if not any(texts):
                continue
            if names is None:
                while texts and not texts[-1]:
                    texts.pop()
                names = _named(texts, aliases)
                _check_header(path, names, required)
                continue
            if any(texts[len(names):]):
                raise InputError(path, number, f"a value beyond the {len(names)} headed columns")
            texts += [""] * (len(names) - len(texts))
            yield number, dict(zip(names, texts[:len(names)]))
        if names is None:
            raise InputError(path, 1, "empty sheet: expected a header row")
    finally:
        book.close()


def _cell_text(value: object) -> str:
    """A workbook cell as the text a CSV of it would hold (85.0 is 85)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def table_rows(path: str | Path, required: Sequence[str],
               aliases: dict[str, str] | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for each data row of a small table a person brings: a CSV (UTF-8 with or
    without a byte order mark, or GB18030 as Excel saves it on a Chinese Windows), or the first
    sheet of an ``.xlsx`` workbook (line = the sheet's row number). Headings are stripped and
    renamed by ``aliases``; ``required`` columns must be there.

    Raises
    ------
    InputError
        for a missing or repeated column, a row with the wrong number of fields, or a file that
        cannot be read as either.
    """
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        return _xlsx_rows(path, required, aliases)
    return _csv_rows(path, required, aliases)


def _score(path: Path, line: int, column: str, text: str, *, required: bool = True) -> float | None:
    if not text:
        if required:
            raise InputError(path, line, f"empty {column}")
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(path, line, f"{column} {text!r} is not a number") from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise InputError(path, line, f"{column} {text} is outside 0–100")
    return value


def read_org(path: str | Path, spec: RoundSpec) -> pd.DataFrame:
    """Read and validate ``org.csv`` (``subject,rater,score``), organizational ratings 0–100.

    Raises
    ------
    InputError
        for a subject the spec lacks, an empty rater, a rater longer than ``RATER_MAX`` or with
        a control character, a score that is not a number from 0 to 100, or a rater who rates
        the same subject twice; naming the line.
    """
    path = Path(path)
    codes = set(spec.subject_codes)
    rows: list[tuple[str, str, float]] = []
    seen: set[tuple[str, str]] = set()
    for line, row in _csv_rows(path, ORG_COLUMNS):
        subject, rater = row["subject"], row["rater"]
        if subject not in codes:
            raise InputError(path, line, f"subject {subject!r} is not in the spec" if subject else "empty subject")
        if not rater:
            raise InputError(path, line, "empty rater")
        if len(rater) > RATER_MAX:
            raise InputError(path, line, f"rater is longer than {RATER_MAX} characters")
        if any(ord(ch) < 32 for ch in rater):
            raise InputError(path, line, "rater contains a control character")
        if (subject, rater) in seen:
            raise InputError(path, line, f"rater {rater!r} rates subject {subject!r} twice")
        seen.add((subject, rater))
        score = _score(path, line, "score", row["score"])
        rows.append((subject, rater, float(score or 0.0)))
    return pd.DataFrame(rows, columns=list(ORG_COLUMNS)).astype({"score": float})


#: headings a roster may carry in Chinese, for the columns they stand for
ROSTER_ALIASES = {"代码": "subject", "名称": "name"}


def read_roster(path: str | Path, components: Sequence[str]) -> pd.DataFrame:
    """Read the roster of the annual assessment (``subject,name,<component>...``, or headed
    ``代码,名称,<component>...``): a CSV in UTF-8 (with or without BOM) or GB18030, or the first
    sheet of an ``.xlsx`` workbook (:func:`table_rows`).

    Component cells are scores 0–100 or empty (a missing component). Returns ``subject``,
    ``name`` and one float column per component (NaN where empty), in file order.

    Raises
    ------
    InputError
        for a missing column, a subject code that is malformed or listed twice, or a score
        that is not a number from 0 to 100; naming the line.
    """
    path = Path(path)
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line, row in table_rows(path, ("subject", "name", *components), ROSTER_ALIASES):
        subject = row["subject"]
        if not KEY_PATTERN.match(subject):
            raise InputError(path, line, f"subject {subject!r} must match [A-Za-z0-9_-]{{1,32}}")
        if subject in seen:
            raise InputError(path, line, f"subject {subject!r} is listed twice")
        seen.add(subject)
        record: dict[str, Any] = {"subject": subject, "name": row["name"] or subject}
        for component in components:
            value = _score(path, line, component, row[component], required=False)
            record[component] = np.nan if value is None else value
        records.append(record)
    frame = pd.DataFrame(records, columns=["subject", "name", *components])
    return frame.astype({c: float for c in components})


def read_scorecard(path: str | Path) -> pd.DataFrame:
    """Read a ``scorecard.csv`` (or the first sheet of a scorecard workbook) as written by
    :func:`write_scorecard`: text columns as text, every other column as numbers (NaN when empty).
    """
    path = Path(path)
    text_columns = {"subject", "name", "grade", "flags"}
    if path.suffix.lower() == ".xlsx":
        from .input_limits import check_xlsx

        try:
            check_xlsx(path)
            raw = pd.read_excel(path, sheet_name=0, dtype=object)
        except (OSError, ValueError) as exc:
            raise InputError(path, None, f"cannot read workbook: {exc}") from None
        rows = [(i + 2, {str(k): ("" if pd.isna(v) else str(v)) for k, v in r.items()})
                for i, r in enumerate(raw.to_dict("records"))]
        if "subject" not in raw.columns:
            raise InputError(path, 1, "missing column subject")
    else:
        rows = list(_csv_rows(path, ("subject",)))
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line, row in rows:
        subject = row["subject"]
        if not subject:
            raise InputError(path, line, "empty subject")
        if subject in seen:
            raise InputError(path, line, f"subject {subject!r} is listed twice")
        seen.add(subject)
        record: dict[str, Any] = {}
        for column, text in row.items():
            if column in text_columns:
                record[column] = text
            elif text == "":
                record[column] = np.nan
            else:
                try:
                    record[column] = float(text)
                except ValueError:
                    raise InputError(path, line, f"{column} {text!r} is not a number") from None
        records.append(record)
    header = list(rows[0][1]) if rows else _read_header(path)
    return pd.DataFrame(records, columns=[h.strip() for h in header])


# --------------------------------------------------------------------------- writing


def write_csv_frame(frame: pd.DataFrame, path: str | Path) -> None:
    """Write an already formatted (all-text) frame as UTF-8 CSV with a byte order mark, text
    that a spreadsheet would run as a formula made inert (:func:`~scoring.cells.inert_text`)."""
    with atomic_path(path) as tmp:
        inert_frame(frame).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")


def inert_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every cell and header passed through :func:`~scoring.cells.inert_text`."""
    from .cells import inert_text

    out = frame.map(inert_text)
    out.columns = [inert_text(c) for c in frame.columns]
    return out


def write_json(data: Any, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_scorecard(scorecard: Any, path: str | Path) -> None:
    """Write a :class:`~scoring.scorecard.Scorecard`: ``.xlsx`` as a formatted workbook, anything
    else as ``scorecard.csv`` (UTF-8 with BOM; scores 2 decimals, shares 4, empty cells empty)."""
    from .workbook import write_scorecard_workbook

    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        write_scorecard_workbook(scorecard, path)
    else:
        write_csv_frame(scorecard.formatted(), path)


def write_summary(summary: dict[str, Any], path: str | Path) -> None:
    """Write :func:`~scoring.summary.round_summary`'s dict as UTF-8 JSON."""
    write_json(summary, path)
