"""ETags from version counters, and If-Match preconditions (412 on a stale version)."""

from typing import Annotated

from fastapi import Header, Response

from app.core.errors import PreconditionFailed

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=1024,
        description="ETag from a previous read; the change is refused with 412 if the "
        "resource changed since.",
    ),
]


def etag(version: int) -> str:
    """The strong ETag of a resource at `version`."""
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    """Put the resource's ETag on the response."""
    response.headers["ETag"] = etag(version)


def check_if_match(if_match: str | None, version: int) -> None:
    """Raise 412 unless If-Match is absent, `*`, or names the current version.

    Callers read the row FOR UPDATE first, so of two writers holding the same ETag the
    second sees the first one's new version and gets 412.
    """
    if if_match is None:
        return
    candidates = [tag.strip() for tag in if_match.split(",")]
    if "*" in candidates or etag(version) in candidates:
        return
    raise PreconditionFailed(extra={"current_etag": etag(version)})
