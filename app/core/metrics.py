"""Prometheus metrics: requests by route and status, latency, database pool."""

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool


class _PoolCollector(Collector):
    """Reads the pool's state at scrape time instead of tracking it on every checkout."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self._engine.sync_engine.pool
        if not isinstance(pool, QueuePool):
            return
        for name, doc, value in (
            ("crmc_db_pool_size", "Configured pool size", pool.size()),
            ("crmc_db_pool_checked_out", "Connections in use", pool.checkedout()),
            ("crmc_db_pool_checked_in", "Idle connections in the pool", pool.checkedin()),
            ("crmc_db_pool_overflow", "Connections beyond the pool size", max(pool.overflow(), 0)),
        ):
            yield GaugeMetricFamily(name, doc, value=value)


class AppMetrics:
    """One registry per app, so several apps in one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "crmc_http_requests_total",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "crmc_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )

    def watch_pool(self, engine: AsyncEngine) -> None:
        """Expose the database pool of `engine`."""
        self.registry.register(_PoolCollector(engine))
