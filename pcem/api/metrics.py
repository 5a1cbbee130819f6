"""Prometheus metrics: HTTP latency per route, projection progress, queue depth,
open in-app streams.

Projection and queue figures are read when scraped, from the tracking table
and the broker, so every API replica reports the same truth. Each app has its
own registry (tests build several apps in one process).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import redis
import structlog
from litestar import Controller, Response, get
from litestar.datastructures import State
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pcem.projections.tracking import ProjectionTracking

log = structlog.get_logger(__name__)

QUEUES = ("notification-schedule", "delivery")  # the Celery queues (Redis lists)
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, tracking: ProjectionTracking, broker: redis.Redis[bytes] | None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "pcem_http_request_duration_seconds",
            "HTTP request latency, by route template, method and status",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.streams_open = Gauge(
            "pcem_notification_streams_open",
            "In-app notification streams open on this API process",
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], Any] = {}
        self.registry.register(ProjectionCollector(tracking))
        self.registry.register(QueueCollector(broker))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        # The labelled child, looked up once per (route, method, status): labels()
        # validates and locks on every call (the set is bounded: route templates).
        key = (route, method, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.latency.labels(route, method, str(status))
        child.observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class ProjectionCollector(Collector):
    def __init__(self, tracking: ProjectionTracking) -> None:
        self.tracking = tracking

    def collect(self) -> Iterator[Metric]:
        position = GaugeMetricFamily(
            "pcem_projection_position", "Last event applied", labels=["projection"]
        )
        lag = GaugeMetricFamily(
            "pcem_projection_lag", "Events recorded but not yet applied", labels=["projection"]
        )
        failed = GaugeMetricFamily(
            "pcem_projection_failed",
            "1 while the projection is stopped on an event",
            labels=["projection"],
        )
        try:
            statuses = [s for s in self.tracking.statuses() if s.is_live]
        except Exception as error:  # a scrape must still answer while the database is down
            log.warning("metrics.projections_unavailable", error=type(error).__name__)
            statuses = []
        for s in statuses:
            position.add_metric([s.name], s.position)
            lag.add_metric([s.name], s.lag)
            failed.add_metric([s.name], 1 if s.state == "failed" else 0)
        yield from (position, lag, failed)


class QueueCollector(Collector):
    def __init__(self, broker: redis.Redis[bytes] | None) -> None:
        self.broker = broker

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "pcem_queue_depth", "Tasks waiting in each Celery queue", labels=["queue"]
        )
        if self.broker is not None:
            try:
                lengths = [self.broker.llen(queue) for queue in QUEUES]
            except redis.RedisError as error:
                log.warning("metrics.queues_unavailable", error=type(error).__name__)
            else:
                for queue, length in zip(QUEUES, lengths, strict=True):
                    depth.add_metric([queue], length)
        yield depth


class MetricsController(Controller):
    path = "/metrics"
    tags = ["health"]

    @get("/", operation_id="metrics", sync_to_thread=True, include_in_schema=True)
    def metrics(self, state: State) -> Response[bytes]:
        """Prometheus text exposition (no authentication)."""
        metrics: Metrics = state.metrics
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
