"""Small CSVs people bring (org ratings, rosters) may be UTF-8 with or without a byte order
mark, or GB18030/GBK as Excel on a Chinese Windows saves them: all read alike."""

from __future__ import annotations

import pytest

from scoring.io import csv_encoding, read_roster

ROSTER = "subject,name,年度考核\nB01,计算机学院党总支,90\nB02,机关党委,\n"


@pytest.mark.parametrize(("encoding", "detected"), [
    ("utf-8", "utf-8-sig"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030"),
])
def test_roster_reads_alike_in_every_encoding(tmp_path, encoding, detected) -> None:  # noqa: ANN001
    path = tmp_path / "roster.csv"
    path.write_bytes(ROSTER.encode(encoding))
    assert csv_encoding(path) == detected
    frame = read_roster(path, ["年度考核"])
    assert list(frame["name"]) == ["计算机学院党总支", "机关党委"]
    assert frame["年度考核"].iloc[0] == 90
