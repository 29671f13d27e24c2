"""Built-in templates from the seeds: a category tree, its categories with playbooks
(差异化运营), and a ruleset — installed together in one transaction.

Thresholds and wording follow the seed documents; each template names its seed.
"""

from typing import Any, Final

Template = dict[str, Any]


def _category(
    code: str, name: str, name_en: str, action: str, owner: str, sla_days: int, order: int
) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "name_en": name_en,
        "sort_order": order,
        "playbook": {"next_action": action, "owner_role": owner, "sla_days": sla_days},
    }


VALUE: Final[Template] = {
    "key": "value",
    "seed": "000",
    "name": "价值维度",
    "name_en": "Value",
    "description": "按订单金额划分高/中/低价值客户(种子文档 000:高价值需无重大投诉)",
    "multi_assign": False,
    "categories": [
        _category(
            "HIGH",
            "高价值客户",
            "High value",
            "销售总监/主管跟进,定期上门拜访,提供定制化方案",
            "销售总监",
            7,
            1,
        ),
        _category(
            "MEDIUM", "中价值客户", "Medium value", "销售定期跟进,推送新品与升级方案", "销售", 14, 2
        ),
        _category(
            "LOW", "低价值客户", "Low value", "标准化服务,营销活动激励提升消费", "市场部", 30, 3
        ),
    ],
    "ruleset": {
        "hit_policy": "first",
        "default_category": "LOW",
        "borderline_margin": 0.05,
        "rules": [
            {
                "key": "high",
                "name": "高价值客户",
                "category": "HIGH",
                "when": "近6个月订单金额 >= 50万元 and 近6个月重大投诉次数 = 0",
                "tags": ["高价值"],
                "next_action": "销售总监/主管跟进,提供专属服务",
            },
            {
                "key": "medium",
                "name": "中价值客户",
                "category": "MEDIUM",
                "when": "近12个月交易金额 >= 10万元",
                "tags": ["中价值"],
                "next_action": "销售定期跟进",
            },
        ],
    },
}

ACTIVITY: Final[Template] = {
    "key": "activity",
    "seed": "000",
    "name": "活跃度维度",
    "name_en": "Activity",
    "description": "按最近沟通或订单时间划分高/中/低活跃(种子文档 000)",
    "multi_assign": False,
    "categories": [
        _category("HIGH", "高活跃", "Highly active", "保持节奏,挖掘增购机会", "销售", 30, 1),
        _category("MEDIUM", "中活跃", "Moderately active", "增加触达频次", "销售", 14, 2),
        _category("LOW", "低活跃", "Inactive", "客服回访唤醒,了解流失原因", "客服", 7, 3),
    ],
    "ruleset": {
        "hit_policy": "first",
        "default_category": "LOW",
        "borderline_margin": 0.05,
        "rules": [
            {
                "key": "high",
                "name": "高活跃",
                "category": "HIGH",
                "when": "近30天互动 > 0 or 近1个月订单频次 > 0",
            },
            {
                "key": "medium",
                "name": "中活跃",
                "category": "MEDIUM",
                "when": "近90天互动 > 0 or 近3个月订单频次 > 0",
            },
        ],
    },
}

RISK: Final[Template] = {
    "key": "risk",
    "seed": "000",
    "name": "风险维度",
    "name_en": "Risk",
    "description": "流失预警、投诉客户、稳定客户(种子文档 000)",
    "multi_assign": False,
    "categories": [
        _category(
            "CHURN",
            "流失预警",
            "Churn warning",
            "客服团队优先联系,发送满意度调研并制定挽回策略",
            "客服",
            3,
            1,
        ),
        _category(
            "COMPLAINT",
            "投诉客户",
            "Complaining",
            "客服主管回访,跟踪投诉处理结果",
            "客服主管",
            2,
            2,
        ),
        _category("STABLE", "稳定客户", "Stable", "常规维护", "销售", 90, 3),
    ],
    "ruleset": {
        "hit_policy": "first",
        "default_category": "STABLE",
        "borderline_margin": 0.05,
        "rules": [
            {
                "key": "churn",
                "name": "流失预警",
                "category": "CHURN",
                "when": "近3个月订单金额 = 0 and (最近联系时间 not within last 90 days "
                "or 最近联系时间 is null)",
                "tags": ["流失预警"],
                "next_action": "客服团队优先联系,发送满意度调研",
            },
            {
                "key": "complaint",
                "name": "投诉客户",
                "category": "COMPLAINT",
                "when": "近6个月投诉次数 >= 2",
                "tags": ["投诉记录"],
                "next_action": "客服主管回访",
            },
        ],
    },
}

RELATIONSHIP: Final[Template] = {
    "key": "relationship",
    "seed": "002",
    "name": "客户关系划分",
    "name_en": "Relationship tier",
    "description": "核心/潜力/普通/低价值客户(种子文档 002,价值+活跃度双维度)",
    "multi_assign": False,
    "categories": [
        _category(
            "CORE",
            "核心客户",
            "Core",
            "客户成功经理一对一对接,每季度提供定制化服务报告",
            "客户成功经理",
            30,
            1,
        ),
        _category(
            "POTENTIAL",
            "潜力客户",
            "Potential",
            "销售重点跟进,每月推送行业案例/新产品信息",
            "销售",
            30,
            2,
        ),
        _category(
            "REGULAR", "普通客户", "Regular", "标准化服务,定期发送产品更新邮件", "客服", 90, 3
        ),
        _category(
            "LOW", "低价值客户", "Low value", "评估留存成本,减少资源投入", "销售主管", 180, 4
        ),
    ],
    "ruleset": {
        "hit_policy": "first",
        "default_category": "LOW",
        "borderline_margin": 0.05,
        "rules": [
            {
                "key": "core",
                "name": "核心客户",
                "category": "CORE",
                "when": "近12个月交易金额 >= 50万 且 近6个月互动 >= 10",
                "tags": ["重点维护"],
                "next_action": "客户成功经理一对一月度跟进",
            },
            {
                "key": "potential",
                "name": "潜力客户",
                "category": "POTENTIAL",
                "when": "近12个月交易金额 between 20万 and 50万 or 近6个月咨询次数 > 0",
                "next_action": "销售重点跟进,推送行业解决方案",
            },
            {
                "key": "regular",
                "name": "普通客户",
                "category": "REGULAR",
                "when": "近12个月交易金额 between 5万 and 20万",
                "next_action": "标准化服务,每季度回访",
            },
        ],
    },
}

GRADING: Final[Template] = {
    "key": "grading",
    "seed": "003",
    "name": "客户分级",
    "name_en": "Grading",
    "description": "种子文档 003 的自动化规则:一个客户可同时属于多个客户组",
    "multi_assign": True,
    "categories": [
        _category(
            "HIGH_VALUE",
            "高价值客户组",
            "High-value group",
            "分配专属客服与优先服务",
            "销售主管",
            7,
            1,
        ),
        _category("ACTIVE", "活跃客户组", "Active group", "推送新品与增购方案", "市场部", 14, 2),
        _category("PROSPECT", "潜在客户组", "Prospect group", "销售跟进转化", "销售", 7, 3),
    ],
    "ruleset": {
        "hit_policy": "collect",
        "default_category": "DEFAULT",
        "borderline_margin": 0.05,
        "rules": [
            {
                "key": "high_value",
                "name": "高价值客户",
                "category": "HIGH_VALUE",
                "when": "近12个月交易金额 > 10000",
            },
            {"key": "active", "name": "活跃客户", "category": "ACTIVE", "when": "近30天互动 > 5"},
            {
                "key": "prospect",
                "name": "潜在客户",
                "category": "PROSPECT",
                "when": 'stage = "potential" and contact_name is not null',
            },
        ],
    },
}

# RFM (seed 003 客户价值评估 / 分级): R = 距上次下单天数, F = 近12个月订单频次, M = 近12个月订单
# 金额, each scored 1–5 by quintile among the customers a run covers (ntile, see
# app/rules/language/quantiles.py; for R the most recent score 5). A dimension is high when
# its score is ≥ 3 (the top 60 %, ties kept together), low otherwise — a customer without
# orders has no R score and counts as low. The eight segments are the R/F/M high-low
# combinations of Chinese CRM practice; 一般挽留客户 (all low) is the default.
_RFM_HIGH: Final = {
    "R": "ntile(距上次下单天数, 5) >= 3",
    "F": "ntile(近12个月订单频次, 5) >= 3",
    "M": "ntile(近12个月订单金额, 5) >= 3",
}


def _rfm_when(r: bool, f: bool, m: bool) -> str:
    parts = [
        _RFM_HIGH[name] if high else f"not {_RFM_HIGH[name]}"
        for name, high in (("R", r), ("F", f), ("M", m))
    ]
    return " and ".join(parts)


# code, name, English name, R, F, M high?, playbook (next action), owner, SLA days
_RFM_SEGMENTS: Final = (
    ("IMPORTANT_VALUE", "重要价值客户", "Champions", True, True, True,
     "专属客户经理一对一维护,优先供货与VIP权益,每季度高层拜访", "客户成功经理", 7),
    ("IMPORTANT_DEVELOP", "重要发展客户", "High-value newcomers", True, False, True,
     "近期有大额采购但频次低:推送增购与年度框架协议,提升复购频次", "销售", 14),
    ("IMPORTANT_KEEP", "重要保持客户", "At-risk loyal", False, True, True,
     "购买频繁、金额高但近期未下单:主动回访了解原因,专人跟进防止流失", "销售主管", 7),
    ("IMPORTANT_RETAIN", "重要挽留客户", "Big spenders slipping away", False, False, True,
     "金额高但近期未购、频次低:制定挽回方案,专属优惠召回", "销售主管", 7),
    ("GENERAL_VALUE", "一般价值客户", "Frequent small buyers", True, True, False,
     "活跃频繁但金额低:推荐高价值产品与组合套餐,提升客单价", "市场部", 30),
    ("GENERAL_DEVELOP", "一般发展客户", "New customers", True, False, False,
     "新近客户:首购后关怀与使用指导,培养复购习惯", "市场部", 30),
    ("GENERAL_KEEP", "一般保持客户", "Lapsing regulars", False, True, False,
     "频次高、金额低且近期沉默:定期关怀与促销唤醒", "客服", 60),
    ("GENERAL_RETAIN", "一般挽留客户", "Lost", False, False, False,
     "低价值且已沉默:低成本自动化营销触达,评估维护投入", "市场部", 90),
)  # fmt: skip

RFM: Final[Template] = {
    "key": "rfm",
    "seed": "003",
    "name": "客户价值评估(RFM)",
    "name_en": "RFM value assessment",
    "description": "种子文档 003 的客户价值评估与分级:按最近下单(R)、下单频次(F)、订单金额(M)"
    "在全部客户中的五分位得分(1–5,≥3 为高)划分八类客户,每类配有运营打法",
    "multi_assign": False,
    "categories": [
        _category(code, name, name_en, action, owner, sla, order)
        for order, (code, name, name_en, _, _, _, action, owner, sla) in enumerate(
            _RFM_SEGMENTS, start=1
        )
    ],
    "ruleset": {
        "hit_policy": "first",
        "default_category": "GENERAL_RETAIN",
        "borderline_margin": 0.05,
        "rules": [
            {
                "key": code.lower(),
                "name": name,
                "category": code,
                "when": _rfm_when(r, f, m),
                "tags": ["RFM", name],
                "next_action": action,
            }
            for code, name, _, r, f, m, action, _, _ in _RFM_SEGMENTS[:-1]
        ],
    },
}

TEMPLATES: Final[dict[str, Template]] = {
    t["key"]: t for t in (VALUE, ACTIVITY, RISK, RELATIONSHIP, GRADING, RFM)
}
