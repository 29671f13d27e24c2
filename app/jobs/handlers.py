"""Importing every module that registers job handlers (and periodic duties), so a worker
knows all kinds."""

import importlib

HANDLER_MODULES: tuple[str, ...] = (
    "app.deliveries.tasks",
    "app.imports.tasks",
    "app.jobs.retention",
    "app.reports.tasks",
    "app.runs.tasks",
    "app.schedules.firing",
    "app.webhooks.tasks",
)


def load_handlers() -> None:
    """Import the handler modules (idempotent)."""
    for module in HANDLER_MODULES:
        importlib.import_module(module)
