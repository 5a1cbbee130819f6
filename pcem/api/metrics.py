"""Prometheus metrics: HTTP latency per route, projection progress, queue depth,
notification deliveries, the outbox, open in-app streams.

Projection, queue and delivery figures are read when scraped, from the tracking
table, the broker and the ledger, so every API replica reports the same truth
(aggregate them with ``max``, not ``sum``). Each app has its own registry (tests
build several apps in one process).
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
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from pcem.notifications.stats import LATENCY_BUCKETS as DELIVERY_BUCKETS
from pcem.notifications.stats import DeliveryFigures, DeliveryStats
from pcem.projector.tracking import ProjectionTracking

log = structlog.get_logger(__name__)

QUEUES = ("notification-schedule", "delivery")  # the Celery queues (Redis lists)
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(
        self,
        tracking: ProjectionTracking,
        broker: redis.Redis[bytes] | None,
        deliveries: DeliveryStats,
    ) -> None:
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
        self.registry.register(DeliveryCollector(deliveries))

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


class DeliveryCollector(Collector):
    """Deliveries by channel and outcome, due-to-sent latency, outbox depth: the ledger's."""

    def __init__(self, stats: DeliveryStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        try:
            figures = self.stats.figures()
        except Exception as error:  # a scrape must still answer while the database is down
            log.warning("metrics.deliveries_unavailable", error=type(error).__name__)
            return
        yield from (_deliveries(figures), _latency(figures), _outbox(figures))


def _deliveries(figures: DeliveryFigures) -> Metric:
    attempts = CounterMetricFamily(
        "pcem_notification_deliveries",
        "Delivery attempts in the ledger, by channel and outcome (sent, retry, failed, cancelled)",
        labels=["channel", "outcome"],
    )
    for (channel, outcome), count in sorted(figures.attempts.items()):
        attempts.add_metric([channel, outcome], count)
    return attempts


def _latency(figures: DeliveryFigures) -> Metric:
    latency = HistogramMetricFamily(
        "pcem_notification_due_to_sent_seconds",
        "From a notification's due time to its sending, by channel",
        labels=["channel"],
    )
    for channel in figures.latencies:
        buckets = [
            (str(float(bound)), count)  # "15.0", as prometheus_client writes bounds
            for bound, count in zip(DELIVERY_BUCKETS, channel.cumulative, strict=True)
        ]
        latency.add_metric(
            [channel.channel], [*buckets, ("+Inf", channel.count)], channel.total_seconds
        )
    return latency


def _outbox(figures: DeliveryFigures) -> Metric:
    return GaugeMetricFamily(
        "pcem_outbox_depth",
        "Messages for the broker written but not yet published by the relay",
        value=figures.outbox_depth,
    )


# Litestar adds the charset to a text/* type itself: given it too, it was sent twice.
_EXPOSITION = CONTENT_TYPE_LATEST.replace("; charset=utf-8", "")


class MetricsController(Controller):
    path = "/metrics"
    tags = ["health"]

    @get("/", operation_id="metrics", sync_to_thread=True, media_type=_EXPOSITION)
    def metrics(self, state: State) -> Response[bytes]:
        """Prometheus text exposition (no authentication)."""
        metrics: Metrics = state.metrics
        return Response(metrics.exposition(), media_type=_EXPOSITION)
