"""The scoring library's messages about a file someone brought, said in Chinese for the console.

``scoring.io`` refuses a bad roster, ratings file or scorecard with an English message naming
the file and line (the command line shows it as it is). The console's users read Chinese: these
patterns turn each message the readers raise into Chinese words, keeping the values it quotes.
A message no pattern knows is shown as it is rather than hidden.
"""

from __future__ import annotations

import re

#: the library's column names, as the console's users call them
COLUMN_WORDS = {"subject": "代码", "name": "名称", "rater": "评价人", "score": "分数"}


def _column(name: str) -> str:
    return COLUMN_WORDS.get(name, f"「{name}」")


def _columns(names: str) -> str:
    return "、".join(_column(n.strip()) for n in names.split(",") if n.strip())


_MESSAGES: list[tuple[str, object]] = [
    (r"^missing column\(s\) (.*); expected (.*)$",
     lambda m: f"缺少列 {_columns(m[1])}（应有的列：{_columns(m[2])}；代码、名称也可写作 subject、name）"),
    (r"^column\(s\) (.*) appear more than once$", lambda m: f"列 {_columns(m[1])} 出现了不止一次"),
    (r"^malformed CSV: expected (\d+) fields, saw (\d+)$", lambda m: f"CSV 格式有误：应有 {m[1]} 列，这一行有 {m[2]} 列"),
    (r"^malformed CSV: (.*)$", lambda m: f"CSV 格式有误（{m[1]}）"),
    (r"^not UTF-8 text$", lambda m: "不是 UTF-8 或 GBK 编码的文本文件"),
    (r"^not a valid xlsx workbook$", lambda m: "不是有效的 xlsx 工作簿"),
    (r"^workbook too large to read: it (.*)$", lambda m: f"工作簿解压后过大，未读取（{m[1]}）"),
    (r"^empty file: expected a header line$", lambda m: "文件是空的：第一行应为列名"),
    (r"^empty sheet: expected a header row$", lambda m: "工作表是空的：第一行应为列名"),
    (r"^a value beyond the (\d+) headed columns$", lambda m: f"这一行在 {m[1]} 个有列名的列之外还有内容"),
    (r"^subject '(.*)' must match .*$", lambda m: f"代码“{m[1]}”只能由字母、数字、_ 和 - 组成，最多 32 个字符"),
    (r"^subject '(.*)' is listed twice$", lambda m: f"代码“{m[1]}”出现了两次"),
    (r"^subject '(.*)' is not in the spec$", lambda m: f"代码“{m[1]}”不是本轮的评议对象"),
    (r"^rater is longer than (\d+) characters$", lambda m: f"评价人超过 {m[1]} 个字"),
    (r"^rater contains a control character$", lambda m: "评价人含有控制字符"),
    (r"^rater '(.*)' rates subject '(.*)' twice$", lambda m: f"评价人“{m[1]}”对“{m[2]}”评了两次"),
    (r"^empty (\w+)$", lambda m: f"{_column(m[1])}为空"),
    (r"^(.+) '(.*)' is not a number$", lambda m: f"{_column(m[1])}“{m[2]}”不是数字"),
    (r"^(.+) (\S+) is outside 0–100$", lambda m: f"{_column(m[1])} {m[2]} 超出 0–100"),
    (r"^no ratings in the file$", lambda m: "文件中没有组织评价"),
    (r"^no column '(.*)' \(named by .*components\.(.*)\.from\)$",
     lambda m: f"本轮评议结果中没有“{m[1]}”这一项（组成部分“{m[2]}”的来源）"),
    (r"^rules\[(\d+)\]\.metric: '(.*)' is neither .*$",
     lambda m: f"第 {int(m[1]) + 1} 条规则的指标“{m[2]}”既不是组成部分，也不是年度得分或评议结果中的一项"),
    (r"^(\S+) (.*) is not a number$", lambda m: f"{_column(m[1])}“{m[2]}”不是数字"),
]


def chinese(message: str) -> str:
    """One library message about a file in Chinese (unknown ones as they are)."""
    for pattern, words in _MESSAGES:
        found = re.match(pattern, message)
        if found:
            return words(found)  # type: ignore[operator]
    return message


def where(name: str, line: int | None) -> str:
    """``roster.csv 第4行`` (or the file alone), to put before a message."""
    return f"{name} 第{line}行" if line is not None else name
