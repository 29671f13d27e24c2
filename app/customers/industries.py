"""Standard two-level industry hierarchy (统一行业分类标准), seeded per tenant.

Codes are the Chinese names joined by ``INDUSTRY_SEPARATOR`` ("制造业-电子"), so a
code is readable in exports and its parent is its prefix.
"""

from __future__ import annotations

from typing import Final

INDUSTRY_SEPARATOR: Final = "-"

INDUSTRY_LABELS_EN: Final[dict[str, str]] = {
    "制造业": "Manufacturing",
    "制造业-电子": "Manufacturing - Electronics",
    "制造业-机械": "Manufacturing - Machinery",
    "制造业-化工": "Manufacturing - Chemicals",
    "制造业-汽车零部件": "Manufacturing - Auto Parts",
    "制造业-食品饮料": "Manufacturing - Food & Beverage",
    "制造业-纺织服装": "Manufacturing - Textiles & Apparel",
    "服务业": "Services",
    "服务业-咨询": "Services - Consulting",
    "服务业-物流": "Services - Logistics",
    "服务业-金融": "Services - Finance",
    "服务业-教育": "Services - Education",
    "服务业-餐饮酒店": "Services - Hospitality",
    "零售业": "Retail",
    "零售业-快消": "Retail - FMCG",
    "零售业-电商": "Retail - E-commerce",
    "零售业-百货": "Retail - Department Stores",
    "信息技术": "Information Technology",
    "信息技术-软件": "Information Technology - Software",
    "信息技术-互联网": "Information Technology - Internet",
    "信息技术-通信": "Information Technology - Telecommunications",
    "建筑业": "Construction",
    "建筑业-工程施工": "Construction - Engineering",
    "建筑业-房地产": "Construction - Real Estate",
    "能源": "Energy",
    "能源-电力": "Energy - Power",
    "能源-新能源": "Energy - Renewables",
    "医疗健康": "Healthcare",
    "医疗健康-医药": "Healthcare - Pharmaceuticals",
    "医疗健康-医疗器械": "Healthcare - Medical Devices",
    "医疗健康-医疗服务": "Healthcare - Medical Services",
    "农业": "Agriculture",
    "农业-种植": "Agriculture - Crops",
    "农业-畜牧渔业": "Agriculture - Livestock & Fishery",
    "公共事业": "Public Sector",
    "其他": "Other",
}

# Parents precede their children, so seeding in this order never references a missing
# parent.
STANDARD_INDUSTRIES: Final[list[str]] = list(INDUSTRY_LABELS_EN)


def industry_parent(code: str) -> str | None:
    """Return the parent code of ``code`` ("制造业-电子" → "制造业"), or None at the top."""
    parent, separator, _ = code.rpartition(INDUSTRY_SEPARATOR)
    return parent if separator else None


def industry_matches_prefix(code: str, prefix: str) -> bool:
    """Whether ``code`` is ``prefix`` itself or one of its descendants.

    Matching is per level, not per character: "制造业" matches "制造业-电子", but "制造"
    does not match "制造业".
    """
    return code == prefix or code.startswith(prefix + INDUSTRY_SEPARATOR)
