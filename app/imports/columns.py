"""The columns of each import entity: headers (Chinese, English, synonyms) and parsers.

The Chinese headers are those of seed 000's template table; the English headers are the
bulk API's field names, so a file exported from the API imports back unchanged.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from typing_extensions import TypeAliasType

from app.imports import cells

ImportEntity = TypeAliasType(
    "ImportEntity", Literal["customers", "orders", "interactions", "complaints"]
)
ENTITIES: Final[tuple[ImportEntity, ...]] = ("customers", "orders", "interactions", "complaints")


@dataclass(frozen=True)
class Column:
    """One column of an import file and the API field it fills."""

    field: str
    header: str  # the Chinese header of the template
    parse: cells.Parser
    example: Any
    help_zh: str
    help_en: str
    required: bool = False
    synonyms: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every header that means this column."""
        return (self.header, self.field, *self.synonyms)


@dataclass(frozen=True)
class EntitySpec:
    """How files of one entity are read."""

    entity: ImportEntity
    label_zh: str
    label_en: str
    key: str  # the field that identifies a row (duplicates within a file are errors)
    columns: tuple[Column, ...]
    by_header: dict[str, Column] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lookup = {header_key(name): column for column in self.columns for name in column.names}
        object.__setattr__(self, "by_header", lookup)

    def column(self, field_name: str) -> Column | None:
        """The column that fills an API field."""
        return next((c for c in self.columns if c.field == field_name), None)


_DECORATION: Final = re.compile(r"[\s*＊]|[(\[（【][^)\]）】]*[)\]）】]$")


def header_key(header: str) -> str:
    """How headers are compared: NFKC, no spaces or required-marks (*), no unit suffix
    such as (元), case-insensitive — so 订单金额(元) and ＊订单金额 both match 订单金额."""
    folded = unicodedata.normalize("NFKC", header).strip().lower()
    previous = None
    while previous != folded:
        previous, folded = folded, _DECORATION.sub("", folded)
    return folded


def _code(required: bool = True) -> Column:
    return Column(
        "customer_code",
        "客户编号",
        cells.text,
        "C000123",
        "客户档案中的客户编号",
        "The customer's code (客户编号)",
        required=required,
        synonyms=("客户代码", "客户号"),
    )


_DAY_HELP = (
    "日期:2024-03-05、2024/3/5、2024年3月5日、20240305 或 Excel 日期",
    "A date: 2024-03-05, 2024/3/5, 2024年3月5日, 20240305 or an Excel date",
)
_MOMENT_HELP = (
    _DAY_HELP[0] + ";可带时间 2024-03-05 14:30",
    _DAY_HELP[1] + "; a time may follow (2024-03-05 14:30)",
)
_AMOUNT_HELP = (
    "金额(元):125000.00、¥125,000、12.5万、12.5万元、1,250,000元",
    "Amount in CNY: 125000.00, ¥125,000, 12.5万, 12.5万元, 1,250,000元",
)


def _labels(mapping: dict[str, str]) -> str:
    return "/".join(mapping)


CUSTOMERS = EntitySpec("customers", "客户", "Customers", "code", (
    Column("code", "客户编号", cells.text, "C000123", "唯一,不可重复", "Unique code",
           required=True, synonyms=("客户代码", "客户号")),
    Column("name", "客户名称", cells.text, "上海华信电子科技有限公司", "企业全称",
           "Full company name", required=True, synonyms=("公司名称", "企业名称", "客户全称")),
    Column("industry", "所属行业", cells.text, "制造业-电子",
           "行业分类,用 - 分级,如 制造业-电子、服务业-咨询",
           "Hierarchical industry code such as 制造业-电子", synonyms=("行业",)),
    Column("employees", "员工人数", cells.integer, 180, "整数;填写后自动推算企业规模",
           "Headcount; derives the size", synonyms=("人数", "员工数")),
    Column("size", "企业规模", cells.size, "中型", "小型(<50人)/中型(50–200人)/大型(>200人)",
           "small / medium / large", synonyms=("规模",)),
    Column("annual_revenue", "年营收", cells.money, "1250万", _AMOUNT_HELP[0], _AMOUNT_HELP[1],
           synonyms=("年营业额", "年收入", "营业收入", "年营业收入")),
    Column("region", "所在地区", cells.text, "上海", "省市或区域", "Region",
           synonyms=("地区", "区域", "所在地")),
    Column("stage", "客户阶段", cells.stage, "签约", "潜在/签约", "potential / signed",
           synonyms=("阶段",)),
    Column("uscc", "统一社会信用代码", cells.uscc, "91350100M000100Y43",
           "18 位,校验位会被检查", "18 characters, checksum validated",
           synonyms=("信用代码", "社会信用代码")),
    Column("contact_name", "联系人", cells.text, "王敏", "主要联系人姓名", "Main contact",
           synonyms=("联系人姓名",)),
    Column("contact_title", "联系人职务", cells.text, "采购经理", "联系人职务", "Contact's title",
           synonyms=("职务", "职位")),
    Column("cooperation_since", "合作开始日期", cells.date, "2022-03-01", *_DAY_HELP,
           synonyms=("合作日期", "开始合作日期")),
    Column("tags", "客户标签", cells.tags, "老客户、重点客户", "多个标签用 、 或 , 分隔",
           "Tags separated by 、 or ,", synonyms=("标签",)),
))  # fmt: skip

ORDERS = EntitySpec("orders", "订单", "Orders", "external_id", (
    Column("external_id", "订单编号", cells.text, "SO-2024-000123",
           "唯一;再次导入同一编号会更新该订单", "Unique; importing it again updates the order",
           required=True, synonyms=("订单号", "订单ID")),
    _code(),
    Column("amount", "订单金额", cells.money, "¥125,000",
           _AMOUNT_HELP[0] + ";不能为负数,退款请把订单状态填为“已退款”",
           _AMOUNT_HELP[1] + "; not negative: for a refund, set the order's status to refunded",
           required=True, synonyms=("金额",)),
    Column("ordered_at", "下单日期", cells.moment, "2024-03-05", *_MOMENT_HELP, required=True,
           synonyms=("订单日期", "下单时间")),
    Column("status", "订单状态", cells.order_status, "已完成",
           "已完成/已取消/已退款/待支付/已支付(留空为已完成)",
           "completed / cancelled / refunded / pending / paid (blank: completed)",
           synonyms=("状态",)),
))  # fmt: skip

INTERACTIONS = EntitySpec("interactions", "沟通记录", "Interactions", "external_id", (
    Column("external_id", "沟通编号", cells.text, "CALL-88231", "唯一;再次导入会更新该记录",
           "Unique; importing it again updates the record", required=True,
           synonyms=("沟通记录编号", "记录编号")),
    _code(),
    Column("occurred_at", "沟通时间", cells.moment, "2024-03-05 14:30", *_MOMENT_HELP,
           required=True, synonyms=("沟通日期", "联系时间")),
    Column("channel", "沟通渠道", cells.channel, "电话", "电话/拜访/邮件/微信/会议/线上/其他",
           "phone / visit / email / wechat / meeting / online / other",
           synonyms=("渠道", "沟通方式")),
    Column("direction", "方向", cells.direction, "呼出", "呼入/呼出(留空为呼出)",
           "inbound / outbound (blank: outbound)", synonyms=("沟通方向",)),
    Column("replied", "是否回复", cells.flag, "是", "是/否(呼出时客户是否回复)",
           "yes / no: did the customer reply", synonyms=("已回复",)),
    Column("is_inquiry", "是否询价", cells.flag, "否", "是/否", "yes / no",
           synonyms=("询价",)),
    Column("summary", "沟通内容摘要", cells.text, "确认下季度采购计划", "最多 2000 字",
           "Up to 2,000 characters", synonyms=("沟通内容", "摘要", "内容")),
))  # fmt: skip

COMPLAINTS = EntitySpec("complaints", "投诉", "Complaints", "external_id", (
    Column("external_id", "投诉编号", cells.text, "TS-2024-0042", "唯一;再次导入会更新该投诉",
           "Unique; importing it again updates the complaint", required=True,
           synonyms=("投诉单号",)),
    _code(),
    Column("occurred_at", "投诉时间", cells.moment, "2024年3月5日", *_MOMENT_HELP, required=True,
           synonyms=("投诉日期",)),
    Column("severity", "严重程度", cells.severity, "一般", "一般/重大(留空为一般)",
           "minor / major (blank: minor)", synonyms=("级别", "投诉级别")),
    Column("summary", "投诉内容", cells.text, "交付延迟两周", "最多 2000 字",
           "Up to 2,000 characters", synonyms=("内容", "投诉摘要")),
))  # fmt: skip

SPECS: Final[dict[str, EntitySpec]] = {
    spec.entity: spec for spec in (CUSTOMERS, ORDERS, INTERACTIONS, COMPLAINTS)
}
