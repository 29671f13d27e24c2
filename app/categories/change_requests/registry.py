"""What approving a change request of each kind does: a registry keyed by `kind`.

A domain registers an applier for each kind it files (the categories domain registers
`category.create|update|move|delete` when its module is imported; the rules domain
registers `ruleset.publish` the same way). Approval looks the applier up here, so this
package never needs to know the domains.

An applier runs inside the approval's transaction with the approving principal. It
must lock what it changes, compare the target's current version with
`request.target_version` (raise `StaleChangeRequest` if they differ — the request
then stays pending), validate again against the current state, apply through the same
service functions as a direct edit, and return a JSON-ready summary stored as the
request's `result`. Any exception rolls the whole approval back.
"""

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.errors import Conflict
from app.core.i18n import Text
from app.models import ChangeRequest

ApprovalResult = dict[str, str | int]
"""What approving did, stored as the request's `result`: ids as text, counts as numbers."""
Applier = Callable[[AsyncSession, Principal, ChangeRequest], Awaitable[ApprovalResult]]

_APPLIERS: dict[str, Applier] = {}


class StaleChangeRequest(Conflict):
    """The target changed (or disappeared) since the request was filed."""

    default_detail = Text(
        "变更提交后目标已被修改或删除,无法批准;请驳回后重新提交",
        "The target changed or was deleted after this request was filed; "
        "reject it and file a new one",
    )


def register_change_kind(kind: str, applier: Applier) -> None:
    """Make `kind` approvable; registering a kind twice with another applier is a bug."""
    existing = _APPLIERS.get(kind)
    if existing is not None and existing is not applier:
        raise RuntimeError(f"change request kind {kind!r} is already registered")
    _APPLIERS[kind] = applier


def applier_for(kind: str) -> Applier:
    try:
        return _APPLIERS[kind]
    except KeyError:
        raise RuntimeError(f"no applier registered for change request kind {kind!r}") from None


def ensure_unchanged(request: ChangeRequest, current_version: int | None) -> None:
    """409 unless the target still exists at the version the request was filed against."""
    if current_version is None or current_version != request.target_version:
        raise StaleChangeRequest(
            extra={"target_version": request.target_version, "current_version": current_version}
        )
