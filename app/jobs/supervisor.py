"""`serve`'s job worker: a child process, restarted when it dies, stopped with serve.

Jobs parse files and will classify millions of customers: CPU work that must never hold
up a request. In the API's process every step of a job shares the event loop (and the
GIL) with the requests, so serve runs its worker as `crm-classifier worker`, the command
that runs workers on other machines, in a process of its own.

Why a subprocess of the CLI rather than `multiprocessing`: the child is exactly the
command operators run at scale (one code path, tested once); nothing of the parent's
state (listening socket, event loop, open connections) is inherited, which `fork` would
do and `spawn` avoids only by re-importing the parent's `__main__`; and asyncio waits
for its exit without a thread. The child reads the parent's settings from its
environment, with the database URL serve actually uses (the embedded server's too).

The child holds the read end of a pipe as its standard input: when serve goes away,
even by SIGKILL, the pipe closes and the worker stops (hands its job back), so no worker
outlives its serve. It runs in its own session, so a Ctrl-C in serve's terminal reaches
serve alone, which then stops the worker in order.
"""

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence

from pydantic_settings import NoDecode

from app.core.settings import Settings

log = logging.getLogger(__name__)

RESTART_BACKOFF_MAX = 30.0  # seconds between restarts of a worker that keeps dying


def worker_command() -> list[str]:
    """`crm-classifier worker --supervised`, with this interpreter."""
    return [sys.executable, "-m", "app", "worker", "--supervised"]


def worker_environment(settings: Settings, database_url: str) -> dict[str, str]:
    """The parent's environment with its settings and the database it uses."""
    env = dict(os.environ)
    fields = type(settings).model_fields
    for name, value in settings.model_dump(mode="json").items():
        if value is not None:
            env[f"CRMC_{name.upper()}"] = _env_value(value, NoDecode in fields[name].metadata)
    env["CRMC_DATABASE_URL"] = database_url
    return env


def _env_value(value: object, comma_separated: bool) -> str:
    """A setting as the worker's Settings reads it back from the environment: lists as
    JSON, or comma-separated where the field says so (`NoDecode`: `cors_origins`).
    str() gave "['10.0.0.0/8']" and "[]", which the worker refused, so it never started."""
    if isinstance(value, list) and comma_separated:
        return ",".join(str(item) for item in value)
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


class WorkerSupervisor:
    """Keeps one worker process running until `stop()`."""

    def __init__(
        self,
        command: Sequence[str],
        env: dict[str, str],
        *,
        stop_seconds: float,
    ) -> None:
        self.command = list(command)
        self.env = env
        self.stop_seconds = stop_seconds
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0  # processes started so far
        self.started = asyncio.Event()  # set at each start (tests clear and wait)
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="job-worker-supervisor")

    async def _supervise(self) -> None:
        quick_deaths = 0
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            began = loop.time()
            try:
                self.process = await asyncio.create_subprocess_exec(
                    *self.command,
                    env=self.env,
                    stdin=asyncio.subprocess.PIPE,
                    start_new_session=True,
                )
            except OSError:
                log.exception("cannot start the job worker")
                returncode: int | None = None
            else:
                self.starts += 1
                self.started.set()
                log.info("job worker started (pid %s)", self.process.pid)
                if self._stopping.is_set():  # stop() came while the process was starting
                    await self._end(self.process)
                returncode = await self.process.wait()
            if self._stopping.is_set():
                return
            # A worker that keeps dying at once (bad settings, database down) is retried
            # with a growing pause instead of in a tight loop.
            quick_deaths = quick_deaths + 1 if loop.time() - began < 10 else 0
            delay = min(RESTART_BACKOFF_MAX, 0.5 * 2**quick_deaths) if quick_deaths else 0.0
            log.warning("job worker exited (%s); restarting in %.1f s", returncode, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def stop(self) -> None:
        """Ask the worker to stop (its job goes back to the queue); kill it if it will not."""
        self._stopping.set()
        if self.process is not None:
            await self._end(self.process)
        if self._task is not None:
            await self._task

    async def _end(self, process: asyncio.subprocess.Process) -> None:
        if process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()  # end of input: the worker stops
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), self.stop_seconds + 5)
        except TimeoutError:
            log.warning("job worker did not stop; killing it")
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def supervised_worker(
    settings: Settings, database_url: str, *, enabled: bool
) -> AsyncIterator[WorkerSupervisor | None]:
    """A supervised worker process for as long as the context is open (none if disabled)."""
    if not enabled:
        yield None
        return
    supervisor = WorkerSupervisor(
        worker_command(),
        worker_environment(settings, database_url),
        stop_seconds=settings.worker_stop_seconds,
    )
    supervisor.start()
    try:
        yield supervisor
    finally:
        await supervisor.stop()
