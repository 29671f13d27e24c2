"""`python -m tests.worker_process URL`: run the queued jobs of the database at URL in
this fresh process, then print as JSON how many ran and the process' peak resident
memory. Tests that bound a job's memory measure a real worker process this way."""

import asyncio
import json
import resource
import sys

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


if __name__ == "__main__":
    ran = asyncio.run(run(sys.argv[1]))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"ran": ran, "peak_rss_mb": peak_kib / 1024}))
