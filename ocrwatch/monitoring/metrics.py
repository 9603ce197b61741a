"""Prometheus metrics, computed from the index at every scrape (served at `/metrics` by the web app).

The daemon, `ocrwatch serve` and `ocrwatch scan` are separate processes; the index is all they share.
Counters kept in one process would count only that process's files and start again from zero at each
restart, and a second process serving them would know nothing of the first. So every metric here is
read from the index when Prometheus asks: the file counts are the ones `ocrwatch status` prints, the
OCR time histogram counts every page any process read (each page's seconds are stored with it), and
the numbers are the same whichever process answers the scrape.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from ocrwatch.index import Index

PAGE_SECONDS_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
"""Upper bounds of the OCR time histogram: Tesseract reads a receipt in 0.2 s, RapidOCR a dense A4
page in several seconds, and a page at the time limit (60 s a page by default) is the last bucket."""


class IndexCollector(Collector):
    """Every metric ocrwatch exports, queried from `index` when collected."""

    def __init__(self, index: Index) -> None:
        self._index = index

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        yield from self._files_and_queues(now)
        yield from self._daemons(now)
        yield self._page_seconds()
        yield self._notifications()

    def _files_and_queues(self, now: datetime) -> Iterator[Metric]:
        counts = {
            (folder or "", status): count
            for folder, statuses in self._index.overview.counts_by_folder().items()
            for status, count in statuses.items()
        }
        queues = {queue.folder: queue for queue in self._index.tallies.queues()}
        files = GaugeMetricFamily(
            "ocrwatch_files",
            "Arrivals in the index by watched folder and status, as `ocrwatch status` counts them "
            '(folder "": ocrwatch scan and uploads).',
            labels=["folder", "status"],
        )
        for (folder, status), count in sorted(counts.items()):
            files.add_metric([folder, status.value], count)
        oldest = GaugeMetricFamily(
            "ocrwatch_queue_oldest_age_seconds",
            "Seconds the arrival that has waited longest in the folder's queue has been queued; "
            "0 when none is.",
            labels=["folder"],
        )
        retrying = GaugeMetricFamily(
            "ocrwatch_queue_retrying",
            "Queued arrivals that failed at least once and wait for their next attempt.",
            labels=["folder"],
        )
        for folder in sorted({folder for folder, _ in counts}):
            queue = queues.get(folder)
            waited = 0.0
            if queue is not None and queue.oldest_queued is not None:
                waited = max(0.0, (now - queue.oldest_queued).total_seconds())
            oldest.add_metric([folder], waited)
            retrying.add_metric([folder], queue.retrying if queue else 0)
        yield from (files, oldest, retrying)

    def _daemons(self, now: datetime) -> Iterator[Metric]:
        """The daemons that have not stopped: one killed without stopping keeps its row, and its
        heartbeat's age grows."""
        paused = GaugeMetricFamily(
            "ocrwatch_daemon_paused",
            "1 while the daemon's queue is paused on a fault outside the files (a full disk, the index).",
            labels=["node"],
        )
        heartbeat = GaugeMetricFamily(
            "ocrwatch_daemon_heartbeat_age_seconds",
            "Seconds since the daemon last wrote its heartbeat (every 10 s while it runs).",
            labels=["node"],
        )
        for daemon in self._index.daemons.all():
            if daemon.stopped_at is None:
                paused.add_metric([daemon.node], 1 if daemon.paused else 0)
                heartbeat.add_metric([daemon.node], max(0.0, (now - daemon.heartbeat_at).total_seconds()))
        yield from (paused, heartbeat)

    def _page_seconds(self) -> Metric:
        histogram = HistogramMetricFamily(
            "ocrwatch_ocr_page_seconds",
            "Seconds the OCR of a page took, by the engine that read it (pages read from a PDF's text "
            "layer are not OCR'd and not counted).",
            labels=["engine"],
        )
        for timed in self._index.tallies.page_seconds(PAGE_SECONDS_BUCKETS):
            buckets = [
                (floatToGoString(bound), count)
                for bound, count in zip(PAGE_SECONDS_BUCKETS, timed.buckets, strict=True)
            ]
            histogram.add_metric([timed.engine], [*buckets, ("+Inf", timed.count)], timed.total)
        return histogram

    def _notifications(self) -> Metric:
        notifications = GaugeMetricFamily(
            "ocrwatch_notifications",
            "Notifications (on_done, on_failed hooks) by folder, event, target and state: pending, "
            "delivered, or failed (given up).",
            labels=["folder", "event", "target", "state"],
        )
        for labels, count in sorted(self._index.tallies.notifications().items()):
            notifications.add_metric(list(labels), count)
        return notifications


def registry(index: Index) -> CollectorRegistry:
    """A registry of ocrwatch's metrics alone: no process metrics of whichever process serves them,
    which would describe the web server rather than the hot folder."""
    collectors = CollectorRegistry(auto_describe=False)  # no query when registering, only when scraped
    collectors.register(IndexCollector(index))
    return collectors
