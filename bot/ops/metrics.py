"""Prometheus metrics of one instance, in a registry of its own (several apps may share a process).

Counters and the histogram are fed as things happen; the rest is read when /metrics is scraped,
from a `Snapshot` the app provides. Outbox figures come from the database, so every instance
reports the same ones, and they survive a change of leader: aggregate them with `max`. The
process' own memory and CPU come from prometheus_client's `ProcessCollector` (`process_*`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Step latency: from an update entering the dispatcher to its transaction committed and the
# replies sent; people notice past a second.
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Event-loop lag: fine around the 20 ms p99 target and the 250 ms warning (bench/mixed.py reads
# its percentiles off these buckets).
LAG_BUCKETS = (
    0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
)  # fmt: skip


@dataclass(frozen=True)
class Snapshot:
    """What the app reports at scrape time."""

    leader: bool
    updates_in_flight: int
    # Outbox sends by outcome over the deployment's life (sent, retried, failed, ...), read
    # from the database; None if it did not answer.
    deliveries: Mapping[str, int] | None = None
    # Outbox rows waiting (`queued`) and being sent (`sending`); None if the database failed.
    outbox_depth: Mapping[str, int] | None = None
    # How long the message that has waited longest has been due (0 when none waits).
    outbox_oldest_age_s: float | None = None
    scheduler_lag_s: float | None = None
    leader_terms: int = 0


class _SnapshotCollector(Collector):
    def __init__(self, read: Callable[[], Snapshot | None]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        snapshot = self._read()
        if snapshot is None:
            return
        yield GaugeMetricFamily(
            "partnerbot_leader",
            "1 while this instance leads (runs the scheduler and the outbox sender)",
            value=int(snapshot.leader),
        )
        yield CounterMetricFamily(
            "partnerbot_leader_terms",
            "how many times this instance became leader",
            value=snapshot.leader_terms,
        )
        yield GaugeMetricFamily(
            "partnerbot_updates_in_flight",
            "updates being handled right now",
            value=snapshot.updates_in_flight,
        )
        if snapshot.deliveries is not None:
            deliveries = CounterMetricFamily(
                "partnerbot_outbox_deliveries",
                "outbox sends by outcome over the deployment's life, whoever led (database)",
                labels=["status"],
            )
            for status, count in sorted(snapshot.deliveries.items()):
                deliveries.add_metric([status], count)
            yield deliveries
        if snapshot.outbox_depth is not None:
            depth = GaugeMetricFamily(
                "partnerbot_outbox_depth", "outbox messages not yet sent", labels=["status"]
            )
            for status, count in sorted(snapshot.outbox_depth.items()):
                depth.add_metric([status], count)
            yield depth
        if snapshot.outbox_oldest_age_s is not None:
            yield GaugeMetricFamily(
                "partnerbot_outbox_oldest_age_seconds",
                "how long the longest-waiting due outbox message has waited (0 when none)",
                value=snapshot.outbox_oldest_age_s,
            )
        if snapshot.scheduler_lag_s is not None:
            yield GaugeMetricFamily(
                "partnerbot_scheduler_lag_seconds",
                "how late the scheduler's last job started after it was due",
                value=snapshot.scheduler_lag_s,
            )


class Metrics:
    """The instance's metrics; `render(snapshot)` gives the Prometheus text format."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.updates = Counter(
            "partnerbot_updates_handled",
            "updates that went through the dispatcher",
            registry=self.registry,
        )
        self.step_seconds = Histogram(
            "partnerbot_update_seconds",
            "time to handle one update (a conversation step), commit included",
            buckets=STEP_BUCKETS,
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            "partnerbot_event_loop_lag_seconds",
            "how late the event loop ran a timer: how long everything else waited for it",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.webhook_requests = Counter(
            "partnerbot_webhook_requests",
            "webhook POSTs by result (ok, unauthorized, bad_request, error)",
            ["result"],
            registry=self.registry,
        )
        self.reply_rate_limited = Counter(
            "partnerbot_reply_rate_limited",
            "429s from Telegram to the bot's own calls while handling updates (replies, edits, "
            "callback answers; the outbox sender's are in partnerbot_outbox_deliveries)",
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        self._snapshot: Snapshot | None = None
        self.registry.register(_SnapshotCollector(lambda: self._snapshot))

    def observe_update(self, seconds: float) -> None:
        """Count one handled update and its handling time."""
        self.updates.inc()
        self.step_seconds.observe(seconds)

    def observe_loop_lag(self, seconds: float) -> None:
        """Record one event-loop lag sample."""
        self.loop_lag.observe(seconds)

    def observe_webhook(self, result: str) -> None:
        """Count one webhook request by its result."""
        self.webhook_requests.labels(result=result).inc()

    def observe_reply_rate_limited(self) -> None:
        """Count one 429 on the reply path."""
        self.reply_rate_limited.inc()

    def render(self, snapshot: Snapshot) -> bytes:
        """Every metric in Prometheus' text exposition format."""
        self._snapshot = snapshot
        try:
            return generate_latest(self.registry)
        finally:
            self._snapshot = None
