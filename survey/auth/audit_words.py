"""The audit log as the console's log page says it: every entry in Chinese words.

The log keeps its action names and details as they were recorded (``feedback.open``,
``rectify.update`` with ``{"changed": {...}}``): they are part of what the chain signs, and a
program reading the log relies on them. This module only says them: each action in words, each
detail's name in words, and values (states, roles, fields changed from → to) in words too. An
action it does not know is still shown, as 其他操作 with its name, never left out.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..models import AuditEntry

#: stored action name → what it means
ACTION_WORDS: dict[str, str] = {
    "sign_in": "登录",
    "sign_in_failed": "登录失败",
    "sign_in_throttled": "登录被限制（尝试过多）",
    "sign_out": "退出登录",
    "user.create": "创建账户",
    "user.disable": "停用账户",
    "user.enable": "启用账户",
    "user.password": "重设密码",
    "user.assign": "分配评阅轮次",
    "user.unassign": "取消评阅轮次",
    "round.create": "创建评议",
    "round.edit": "修改评议",
    "round.delete": "删除草稿",
    "round.open": "开始评议",
    "round.close": "结束评议",
    "round.publish": "公布结果",
    "codes.issue": "发放评议码",
    "codes.void": "作废未用评议码",
    "qr.download": "下载二维码",
    "org.ratings": "录入组织评价",
    "export": "导出数据",
    "scorecard.download": "下载评议结果",
    "settings.change": "修改设置",
    "remark.save": "保存领导点评",
    "remark.delete": "删除领导点评",
    "rectify.draw_up": "生成整改清单",
    "rectify.update": "修改整改事项",
    "feedback.create": "生成反馈链接",
    "feedback.revoke": "收回反馈链接",
    "feedback.open": "反馈链接被打开",
    "audit.rekey": "审计日志改用密钥链（此前的记录已在密钥下重新计算）",
    "results.keep": "计算并保存评议结果",
}

#: detail name → what it is
DETAIL_WORDS: dict[str, str] = {
    "username": "账户", "role": "角色", "rounds": "评议", "address": "地址", "reason": "原因",
    "title": "标题", "source": "来源", "demo": "演示", "group": "群体", "count": "数量", "format": "格式",
    "file": "文件", "files": "文件", "codes_destroyed": "销毁的评议码", "setting": "设置项", "value": "值",
    "subject": "对象", "link": "链接", "days": "有效期（天）", "before": "修改前", "after": "修改后",
    "text": "内容", "reviewer_name": "点评人", "grade": "等次", "negative_share": "负面评价比例",
    "review": "需复核的", "added": "新增", "entry": "事项", "changed": "修改", "problem": "存在的问题",
    "measure": "整改措施", "responsible": "责任人", "due_on": "完成时限", "status": "状态", "note": "备注",
    "earlier_chain": "此前的链条", "entries": "记录数", "head": "链头", "round": "评议", "raw": "原文",
}

#: values said in words, per detail name
VALUE_WORDS: dict[str, dict[str, str]] = {
    "role": {"admin": "管理员", "organizer": "组织者", "reviewer": "评阅人"},
    "status": {"not_started": "未开始", "in_progress": "进行中", "done": "已完成"},
    "source": {"table": "网页表格", "upload": "上传文件"},
    "setting": {"base_url": "公共地址"},
    "format": {"csv": "CSV", "pdf": "PDF", "png": "PNG", "svg": "SVG"},
    "earlier_chain": {"whole": "完整", "broken": "断裂", "empty": "无记录"},
}


def action_words(action: str) -> str:
    """An action name in words; 其他操作（name） for one this page does not know."""
    return ACTION_WORDS.get(action) or f"其他操作（{action}）"


def value_words(name: str, value: Any) -> str:
    """A detail's value in words: yes/no as 是/否, lists joined with 、, a field's change as
    修改前 → 修改后, dicts as their own named details."""
    if value is None:
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and name in DETAIL_WORDS and name not in ("rounds", "files"):
            return f"{value_words(name, value[0])} → {value_words(name, value[1])}"
        return "、".join(value_words(name, v) for v in value) or "（无）"
    if isinstance(value, dict):
        return "；".join(f"{DETAIL_WORDS.get(k, k)}：{value_words(k, v)}" for k, v in value.items())
    if name == "earlier_chain" and str(value).startswith("broken at entry"):
        return f"第 {str(value).split()[3]} 条记录处已断裂（转换之前）"
    if name == "negative_share" and isinstance(value, (int, float)):
        return f"{value * 100:g}%"
    return VALUE_WORDS.get(name, {}).get(str(value), str(value))


def describe(entry: AuditEntry) -> dict[str, Any]:
    """An entry for the log page: the action in words, and its details as (name, value) pairs
    in words."""
    try:
        detail = json.loads(entry.detail or "{}")
    except ValueError:
        detail = {"raw": entry.detail}
    if not isinstance(detail, dict):
        detail = {"raw": detail}
    return {"entry": entry, "action": action_words(entry.action),
            "detail": [(DETAIL_WORDS.get(k, k), value_words(k, v)) for k, v in detail.items()]}


#: why the chain is broken, as ``survey.auth.audit.verify_chain`` says it → in words
_BREAK_WORDS: list[tuple[str, str]] = [
    (r"^it does not follow the entry before it", "它没有接在上一条记录之后（有记录被删除、插入或修改）"),
    (r"^its content no longer matches its hash", "它的内容与其哈希不再相符（记录被修改过）"),
    (r"^it is entry number (\d+) but does not carry the hash of the head given \((.*)\)",
     r"它是第 \1 条记录，却不带所给链头（\2）的哈希：日志被改写到了这里"),
    (r"^the head given \((.*)\) is entry number (\d+), but the log holds (\d+) entries",
     r"所给链头（\1）是第 \2 条记录，而日志只有 \3 条：最新的记录被删除了"),
]


def break_words(reason: str) -> str:
    """Why the chain is broken, in words (a reason this page does not know, as it is)."""
    for pattern, words in _BREAK_WORDS:
        found = re.match(pattern, reason)
        if found:
            return found.expand(words)
    return reason
