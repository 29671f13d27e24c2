"""`python -m tests.worker_process URL`: run the queued jobs of the database at URL in
this fresh process, then print as JSON how many ran and the process' peak resident
memory. Tests that bound a job's memory measure a real worker process this way."""

import asyncio
import json
import sys
from pathlib import Path

from app.core.db import Database
from app.jobs.handlers import load_handlers
from app.jobs.worker import Worker


async def run(url: str) -> int:
    load_handlers()
    database = Database.connect(url, pool_size=2, max_overflow=2)
    try:
        return await Worker(database).run_until_idle()
    finally:
        await database.dispose()


def peak_rss_mb() -> float:
    """This process' peak resident memory. Not `ru_maxrss`: Linux carries that over
    `exec` from the forked parent (a test process of hundreds of MB); VmHWM starts anew
    with the program."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    ran = asyncio.run(run(sys.argv[1]))
    print(json.dumps({"ran": ran, "peak_rss_mb": peak_rss_mb()}))
