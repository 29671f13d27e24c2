"""What can go wrong with trees, categories and assignments, each with its status."""

from typing import Any

from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.i18n import Text
from app.facts.references import RuleReference, UsedByPublishedRules


def field_error(loc: list[str | int], message: Text | str, kind: str) -> list[dict[str, Any]]:
    """`errors` of a 422 pointing at one input."""
    return [{"loc": loc, "msg": message, "type": kind}]


class TreeNotFound(NotFound):
    default_detail = Text("找不到该分类维度", "No such category tree")


class CategoryNotFound(NotFound):
    default_detail = Text("找不到该分类", "No such category")


class TreeKeyTaken(Conflict):
    default_detail = Text("已有使用该 key 的分类维度", "A category tree with this key exists")


class CodeTaken(Conflict):
    default_detail = Text(
        "该分类维度中已有相同编码的分类", "A category with this code exists in the tree"
    )


class NameTakenAmongSiblings(Conflict):
    default_detail = Text(
        "同一上级分类下已有同名分类", "A category with this name exists under the same parent"
    )


class CategoryHasChildren(Conflict):
    def __init__(self, children: int) -> None:
        super().__init__(
            Text(
                f"该分类下还有 {children} 个子分类,请先删除或移走子分类",
                f"The category has {children} child categor{'y' if children == 1 else 'ies'}; "
                "delete or move them first",
            ),
            extra={"children": children},
        )


class DefaultCategoryIsFixed(Conflict):
    default_detail = Text(
        "默认分类不能删除、移动、改编码或限定适用客户",
        "The default category cannot be deleted, moved, recoded or restricted by stage",
    )


class TooManyCategories(Conflict):
    def __init__(self, limit: int) -> None:
        super().__init__(
            Text(f"一个分类维度最多 {limit} 个分类", f"A tree holds at most {limit} categories")
        )


class DepthExceeded(InvalidInput):
    def __init__(self, depth: int, max_depth: int, loc: list[str | int]) -> None:
        message = Text(
            f"分类层级将达到 {depth} 级,超过该维度允许的 {max_depth} 级",
            f"That would make the tree {depth} levels deep; it allows {max_depth}",
        )
        super().__init__(message, errors=field_error(loc, message, "max_depth_exceeded"))


class WouldFormCycle(InvalidInput):
    def __init__(self) -> None:
        message = Text(
            "不能把分类移到它自己或它的下级分类之下",
            "A category cannot move under itself or its descendants",
        )
        super().__init__(message, errors=field_error(["body", "parent_id"], message, "cycle"))


class ParentNotInTree(InvalidInput):
    def __init__(self) -> None:
        message = Text(
            "上级分类不存在或不属于该分类维度", "The parent is not a category of this tree"
        )
        super().__init__(
            message, errors=field_error(["body", "parent_id"], message, "parent_not_in_tree")
        )


class ReassignTargetInvalid(InvalidInput):
    def __init__(self) -> None:
        message = Text(
            "reassign_to 须是同一分类维度中的另一个分类",
            "reassign_to must be another category of the same tree",
        )
        super().__init__(
            message, errors=field_error(["query", "reassign_to"], message, "reassign_target")
        )


class DefaultCannotHaveChildren(InvalidInput):
    def __init__(self) -> None:
        message = Text("默认分类下不能建立子分类", "The default category cannot have children")
        super().__init__(
            message, errors=field_error(["body", "parent_id"], message, "default_parent")
        )


class AppliesToContradictsParent(InvalidInput):
    def __init__(self, child: str, parent: str, loc: list[str | int]) -> None:
        message = Text(
            f"适用客户“{child}”与上级分类的“{parent}”矛盾",
            f"applies_to {child!r} contradicts the parent's {parent!r}",
        )
        super().__init__(message, errors=field_error(loc, message, "applies_to_contradicts_parent"))


class CustomersDoNotFit(Conflict):
    def __init__(self, count: int, applies_to: str) -> None:
        super().__init__(
            Text(
                f"有 {count} 个客户的阶段不符合“{applies_to}”,请先调整这些客户的分类",
                f"{count} assigned customer(s) do not fit applies_to {applies_to!r}; "
                "reassign them first",
            ),
            extra={"customers": count},
        )


class TreeHasAssignments(Conflict):
    def __init__(self, count: int) -> None:
        super().__init__(
            Text(
                f"该分类维度中还有 {count} 条客户分类,确认删除请加 ?force=true",
                f"The tree still holds {count} assignment(s); add ?force=true to delete it anyway",
            ),
            extra={"assignments": count},
        )


class TreeTooDeepForMaxDepth(Conflict):
    def __init__(self, height: int) -> None:
        super().__init__(
            Text(
                f"现有分类已有 {height} 级,max_depth 不能小于 {height}",
                f"The tree is already {height} levels deep; max_depth cannot be below that",
            )
        )


class CustomersHoldSeveral(Conflict):
    def __init__(self, count: int) -> None:
        super().__init__(
            Text(
                f"有 {count} 个客户在该维度中属于多个分类,不能关闭多选",
                f"{count} customer(s) hold several categories of this tree; "
                "multi_assign cannot be turned off",
            ),
            extra={"customers": count},
        )


class CategoryUsedByRules(UsedByPublishedRules):
    """A published rule assigns customers to the category (or defaults to it)."""

    def __init__(self, rules: list[RuleReference]) -> None:
        super().__init__(Text("分类", "category"), rules)
