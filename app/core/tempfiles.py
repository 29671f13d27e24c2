"""Files the service writes for one download (an import's error report, a rendered
report): streamed to the client, then deleted."""

import os
from collections.abc import AsyncIterator


async def stream_and_delete(path: str, chunk: int = 1 << 16) -> AsyncIterator[bytes]:
    """The file's bytes, then the file is deleted (also when the client goes away)."""
    try:
        with open(path, "rb") as source:  # noqa: ASYNC230 - local temp file, small reads
            while data := source.read(chunk):
                yield data
    finally:
        os.unlink(path)
