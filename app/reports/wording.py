"""What exported reports say: titles, sheet names and column headers, Chinese first."""

from typing import Final

from app.core.i18n import Locale, Text

TITLE: Final = Text("客户分类报告", "Customer classification report")
SUMMARY: Final = Text("概览", "Summary")
DISTRIBUTION: Final = Text("分类分布", "Distribution")
CROSSTAB: Final = Text("交叉分析", "Cross-tab")
TRANSITIONS: Final = Text("分类变化", "Transitions")
BORDERLINE: Final = Text("边界客户", "Borderline")
CONFLICTS: Final = Text("锁定冲突", "Locked conflicts")
CUSTOMERS: Final = Text("客户清单", "Customers")
TOTAL: Final = Text("合计", "Total")
MOVE: Final = Text("变化", "Move")
NONE: Final = Text("(无)", "(none)")
YES: Final = Text("是", "yes")
NO: Final = Text("否", "no")
FIRST_ONLY: Final = Text(
    "仅列出前 {shown} 位(共 {total} 位);完整名单见客户清单的筛选列",
    "The first {shown} of {total}; filter the customer lists for all",
)
PREVIOUS_RUN: Final = Text("对比上次应用运行 {as_of}", "Against the apply run of {as_of}")
NO_PREVIOUS_RUN: Final = Text("无上次应用运行可对比", "No earlier apply run to compare with")

RUN_FACTS: Final = (
    (Text("运行 ID", "Run"), "run_id"),
    (Text("模式", "Mode"), "mode"),
    (Text("数据日期", "As of"), "as_of"),
    (Text("完成时间", "Finished"), "finished_at"),
    (Text("客户数", "Customers"), "customers"),
)
MODES: Final = {"apply": Text("应用", "apply"), "dry_run": Text("试运行", "dry run")}

DISTRIBUTION_HEADERS: Final = (
    Text("分类维度", "Tree"),
    Text("分类", "Category"),
    Text("客户数", "Customers"),
    Text("占比", "Share"),
    Text("上次占比", "Previous share"),
    Text("变化(百分点)", "Change (pp)"),
)
AT_A_GLANCE: Final = (
    Text("分类维度", "Tree"),
    Text("最大分类", "Largest category"),
    Text("变化客户数", "Customers moved"),
)
DRIFT: Final = Text("漂移预警", "Drift alerts")
DRIFT_HEADERS: Final = (
    Text("分类维度", "Tree"),
    Text("分类", "Category"),
    Text("上次占比(%)", "Before (%)"),
    Text("本次占比(%)", "After (%)"),
    Text("变化(百分点)", "Change (pp)"),
    Text("阈值(百分点)", "Threshold (pp)"),
)
TRANSITION_HEADERS: Final = (
    Text("分类维度", "Tree"),
    Text("原分类", "From"),
    Text("新分类", "To"),
    Text("客户数", "Customers"),
)
FLAGGED_HEADERS: Final = (
    Text("客户编号", "Code"),
    Text("客户名称", "Name"),
    Text("分类维度", "Tree"),
    Text("分类", "Category"),
    Text("命中规则", "Rule"),
    Text("下一步跟进动作", "Next action"),
)
LIST_HEADERS: Final = (
    Text("客户编号", "Code"),
    Text("客户名称", "Name"),
    Text("分类", "Category"),
    Text("分类路径", "Path"),
    Text("原分类", "Previous"),
    Text("是否变化", "Changed"),
    Text("命中规则", "Rule"),
    Text("下一步跟进动作", "Next action"),
    Text("负责角色", "Owner"),
    Text("时限(天)", "SLA (days)"),
    Text("边界客户", "Borderline"),
    Text("锁定冲突", "Locked conflict"),
)
CSV_TREE_HEADER: Final = Text("分类维度", "Tree")
DEFAULT_RULE: Final = Text("默认分类", "default")


def headers(texts: tuple[Text, ...], locale: Locale) -> list[str]:
    return [t.get(locale) for t in texts]


def sheet_name(name: str, taken: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\, unique."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name).strip("'") or "Sheet"
    base = clean[:31]
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        suffix = f" ({n})"
        candidate = base[: 31 - len(suffix)] + suffix
    taken.add(candidate)
    return candidate
