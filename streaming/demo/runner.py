"""`streaming demo`: the whole pipeline as local processes, watched live, stopped cleanly, reported.

The demo resolves the broker (starting the local one if none is configured), creates the topics under a
fresh prefix, starts every service that this installation's CLI offers as its own process with its own
/metrics port, plus the reference alert receiver and a Prometheus when one is installed. It scrapes every
service each second for the live view, tails the alerts topic, and at the end stops everything (SIGTERM,
then SIGKILL) and writes the run report. Whatever happens (an error, Ctrl-C, SIGTERM), no child survives.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streaming.config import Settings
from streaming.console import is_interactive
from streaming.demo.alert_feed import AlertFeed
from streaming.demo.dashboards import DASHBOARD_DIR, QueryCheck, check_dashboards, load_dashboards
from streaming.demo.processes import ManagedProcess, ProcessGroup
from streaming.demo.prometheus import PrometheusError, PrometheusServer, find_prometheus, free_port
from streaming.demo.pushgateway import PushgatewayServer, find_pushgateway
from streaming.demo.report import RunData, StageSummary, stage_events, write_report
from streaming.demo.samples import MetricsScraper
from streaming.demo.services import PlannedProcess, planned_processes, stage_metrics
from streaming.demo.view import LiveView
from streaming.kafka import ensure_topics, make_admin, resolve_bootstrap
from streaming.services import DemoRun

log = logging.getLogger(__name__)


@dataclass
class DemoOptions:
    """How the demo runs. `topic_prefix=None` gives each run fresh topics (`demo-<time>.`)."""

    duration_seconds: float = 60.0
    speedup: float = 120.0
    #: Options the services added to `streaming demo` (their defaults when not given).
    service_options: argparse.Namespace | None = None
    report_root: Path = Path("reports")
    free_ports: bool = False
    prometheus: bool = True
    check_dashboards: bool = True
    interactive: bool | None = None
    topic_prefix: str | None = None
    tick_seconds: float = 1.0
    stop_timeout_seconds: float = 15.0
    plain_interval_seconds: float = 5.0


@dataclass
class DemoResult:
    report_dir: Path
    index: Path | None
    summary: dict[str, Any]
    started: dict[str, int]  # service name -> pid
    failed: dict[str, int]  # service name -> exit code, for services that died during the run
    leftovers: list[int]
    dashboard_checks: list[QueryCheck] = field(default_factory=list)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed and not self.leftovers and not self.interrupted and self.index is not None


@dataclass
class _UsagePoint:
    time: float
    cpu_seconds: float
    events: float | None


def service_defaults(**overrides: Any) -> argparse.Namespace:
    """The options services add to `streaming demo`, at their defaults but for `overrides` (for runs
    started from code: `DemoOptions(service_options=service_defaults(failure_rate=6.0))`)."""
    from streaming.cli.main import build_parser

    defaults, _unknown = build_parser().parse_known_args(["demo"])
    unknown = set(overrides) - set(vars(defaults))
    if unknown:
        raise TypeError(f"no demo options {sorted(unknown)}; the services declare {sorted(vars(defaults))}")
    for name, value in overrides.items():
        setattr(defaults, name, value)
    return defaults


def _port_is_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the demo like Ctrl-C does (children stopped, report written)."""
    try:
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    except ValueError:  # not the main thread: leave signal handling to the caller
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Demo:
    """One demo run. `run()` does everything and returns a `DemoResult`.

    `while_running(demo)`, if given, is called once the duration is over and before anything stops: tests
    use it to query the live Prometheus.
    """

    def __init__(self, settings: Settings, options: DemoOptions | None = None) -> None:
        self.options = options or DemoOptions()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.report_dir = self._unique_dir(self.options.report_root / stamp)
        prefix = self.options.topic_prefix
        if prefix is None:
            prefix = f"demo-{stamp}-{secrets.token_hex(2)}."
        self.settings = settings.model_copy(
            update={"topics": settings.topics.model_copy(update={"prefix": prefix})}
        )
        self.group = ProcessGroup(self.report_dir / "logs", self.options.stop_timeout_seconds)
        self.bootstrap = ""
        self.processes: dict[str, ManagedProcess] = {}
        self.planned: dict[str, PlannedProcess] = {item.name: item for item in planned_processes()}
        self.addresses: dict[str, str] = {}
        self._teardowns: list[Callable[[], None]] = []
        self.metrics_ports: dict[str, int] = {}
        self.prometheus: PrometheusServer | None = None
        self.pushgateway: PushgatewayServer | None = None
        self.scraper: MetricsScraper | None = None
        self.alert_feed: AlertFeed | None = None
        self.notes: list[str] = []
        self._usage: dict[str, list[_UsagePoint]] = {}
        self._reported_exits: set[str] = set()
        self._prometheus_pid: int | None = None

    @staticmethod
    def _unique_dir(path: Path) -> Path:
        candidate, number = path, 1
        while candidate.exists():
            number += 1
            candidate = path.with_name(f"{path.name}-{number}")
        candidate.mkdir(parents=True)
        return candidate

    def say(self, message: str) -> None:
        print(f"demo: {message}", file=sys.stderr, flush=True)

    # ---------------------------------------------------------------- start

    def _prepare(self) -> None:
        # One line per scrape and query would drown the view.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.bootstrap = resolve_bootstrap(self.settings)
        self.say(
            f"broker {self.bootstrap}; topic prefix {self.settings.topics.prefix!r}; "
            f"report in {self.report_dir}"
        )
        admin = make_admin(self.settings, self.bootstrap)
        try:
            outcome = ensure_topics(admin, self.settings)
        finally:
            admin.close()
        created = sum(1 for state in outcome.values() if state == "created")
        self.say(f"topics: {created} created, {len(outcome) - created} existed")

    def _metrics_port(self, service: str) -> int:
        configured = self.settings.metrics.port_for(service)
        if not self.options.free_ports and _port_is_free(configured):
            return configured
        port = free_port()
        if not self.options.free_ports:
            self.notes.append(f"{service}: port {configured} was busy, used {port}")
        return port

    def _run_context(self) -> DemoRun:
        options = argparse.Namespace(**vars(self.options.service_options or service_defaults()))
        options.speedup = self.options.speedup
        options.duration = self.options.duration_seconds
        return DemoRun(options, self.settings, self.report_dir)

    def _setup(self, run: DemoRun) -> None:
        """What the services need before their processes start (e.g. a Redis of the run's own)."""
        from streaming.services import registry, resolve

        for service in registry().services.values():
            if service.demo_setup and service.name in self.planned:
                self.say(f"{service.name}: setting up")
                try:
                    self._teardowns.append(resolve(service.demo_setup)(run))
                except Exception as error:
                    # Its processes will say what they lack; the rest of the pipeline runs regardless.
                    self.notes.append(f"{service.name}: setup failed: {error}")
                    self.say(f"{service.name}: setup failed: {error}")

    def _teardown(self) -> None:
        while self._teardowns:
            stop = self._teardowns.pop()
            try:
                stop()
            except Exception as error:
                self.notes.append(f"a demo setup did not stop cleanly: {error}")

    def _environment(self, run: DemoRun) -> dict[str, str]:
        env = dict(os.environ)
        env.update(run.environment)
        for item in self.planned.values():
            env.update(item.process.environment(run))
        env["STREAMING_PROCESSING__STATE_DIR"] = str((self.report_dir / "state").resolve())
        env["STREAMING_METRICS__ADDRESS"] = "127.0.0.1"
        env["PYTHONUNBUFFERED"] = "1"
        # Each child decides on its own terminal; the demo owns this one.
        env.pop("COLUMNS", None)
        return env

    def _start_pushgateway(self, run: DemoRun) -> None:
        """Batch jobs (the weekly churn job) push their metrics here; Prometheus scrapes it."""
        if not self.options.prometheus:
            return
        if find_pushgateway() is None:
            self.notes.append(
                "the Pushgateway is not installed (make observability-tools); batch jobs push nothing"
            )
            return
        server = PushgatewayServer(data_dir=self.report_dir / "pushgateway")
        try:
            server.start()
        except PrometheusError as error:
            self.notes.append(f"the Pushgateway did not start: {error}")
            return
        self.pushgateway = server
        self._teardowns.append(server.stop)
        run.environment["STREAMING_METRICS__PUSHGATEWAY"] = server.address
        self.say(f"pushgateway {server.url}")

    def _start_services(self) -> None:
        run = self._run_context()
        self._start_pushgateway(run)
        self._setup(run)
        env = self._environment(run)
        safety_duration = self.options.duration_seconds + self.options.stop_timeout_seconds + 60
        for item in self.planned.values():
            common = {
                "--bootstrap": self.bootstrap,
                "--topic-prefix": self.settings.topics.prefix,
                "--duration": f"{safety_duration:g}",
            }
            port = item.metrics_port(run, functools.partial(self._metrics_port, item.name))
            if port is not None:
                if item.process.metrics_option == "--metrics-port":
                    common["--metrics-port"] = str(port)
                self.metrics_ports[item.name] = port
            argv = [sys.executable, "-m", "streaming.cli.main", *item.argv(run, common)]
            self.processes[item.name] = self.group.start(item.name, argv, env=env)
            self.say(f"started {item.name} (pid {self.processes[item.name].pid}): {item.command_text}")
            if item.process.address is not None:
                address = item.process.address(run)
                self.addresses[item.name] = address
                self.say(f"{item.process.stage}: open {address}")

    def _start_prometheus(self) -> None:
        if not self.options.prometheus:
            return
        if find_prometheus() is None:
            self.notes.append("Prometheus is not installed (make observability-tools); skipped")
            self.say("prometheus not installed; skipped")
            return
        targets = {name: f"127.0.0.1:{port}" for name, port in self.metrics_ports.items()}
        if self.pushgateway is not None:
            targets["pushgateway"] = self.pushgateway.address
        server = PrometheusServer(
            targets, data_dir=self.report_dir / "prometheus", honor_labels=["pushgateway"]
        )
        try:
            server.start()
        except PrometheusError as error:
            self.notes.append(f"Prometheus did not start: {error}")
            return
        self.prometheus = server
        self._prometheus_pid = server.pid
        self.say(f"prometheus {server.url} scraping {len(targets)} services")

    # ---------------------------------------------------------------- run

    def statuses(self) -> dict[str, str]:
        statuses: dict[str, str] = {}
        for name in self.planned:
            process = self.processes.get(name)
            if process is None:
                statuses[name] = "not started"
            elif not process.running:
                statuses[name] = f"exited {process.returncode}"
            elif self.scraper is not None and name in self.scraper.series:
                series = self.scraper.series[name]
                statuses[name] = "running" if series.snapshots else "starting"
            else:
                statuses[name] = "running"
        return statuses

    def _record_usage(self) -> None:
        self.group.sample_usage()
        for name, process in self.processes.items():
            series = self.scraper.series.get(name) if self.scraper else None
            events = stage_events(name, series)
            self._usage.setdefault(name, []).append(
                _UsagePoint(time.time(), process.usage.cpu_seconds, events)
            )

    def _report_exits(self) -> None:
        for name, process in self.processes.items():
            if not process.running and name not in self._reported_exits:
                self._reported_exits.add(name)
                self.say(
                    f"{name} exited with code {process.returncode}; last log lines:\n{process.log_tail()}"
                )

    def _loop(self, view: LiveView, started: float) -> None:
        duration = self.options.duration_seconds
        next_tick = time.monotonic()
        while True:
            elapsed = time.monotonic() - started
            assert self.scraper is not None and self.alert_feed is not None
            self.scraper.scrape()
            self._record_usage()
            self._report_exits()
            view.update(elapsed, duration, self.scraper.series, self.statuses(), self.alert_feed.snapshot())
            if elapsed >= duration:
                return
            next_tick += self.options.tick_seconds
            time.sleep(max(0.0, min(next_tick - time.monotonic(), duration - elapsed)))

    def run(self, while_running: Callable[[Demo], None] | None = None) -> DemoResult:
        interrupted = False
        started_wall = time.time()
        checks: list[QueryCheck] = []
        interactive = is_interactive() if self.options.interactive is None else self.options.interactive
        with _sigterm_as_interrupt():
            try:
                self._prepare()
                self._start_services()
                self.scraper = MetricsScraper(
                    {name: f"http://127.0.0.1:{port}/metrics" for name, port in self.metrics_ports.items()}
                )
                self._start_prometheus()
                self.alert_feed = AlertFeed(
                    self.settings, self.bootstrap, from_beginning=self.options.topic_prefix is None
                ).start()
                started_wall = time.time()
                with LiveView(interactive, self.options.plain_interval_seconds) as view:
                    self._loop(view, time.monotonic())
                    view.update(
                        self.options.duration_seconds,
                        self.options.duration_seconds,
                        self.scraper.series,
                        self.statuses(),
                        self.alert_feed.snapshot(),
                        force=True,
                    )
                if self.prometheus is not None and self.options.check_dashboards and DASHBOARD_DIR.is_dir():
                    checks = check_dashboards(self.prometheus, load_dashboards(DASHBOARD_DIR))
                    empty = [check for check in checks if not check.ok]
                    self.say(
                        f"dashboards: {len(checks) - len(empty)} of {len(checks)} panel queries have data"
                    )
                if while_running is not None:
                    while_running(self)
            except KeyboardInterrupt:
                interrupted = True
                self.notes.append("interrupted (Ctrl-C or SIGTERM) before the planned end")
                self.say("interrupted; stopping everything")
            finally:
                failed = self._shutdown()
        leftovers = self.group.leftovers()
        index = self._write_report(started_wall, checks)
        summary = json.loads((self.report_dir / "summary.json").read_text()) if index else {}
        if leftovers:
            self.say(f"processes left running: {leftovers}")
        return DemoResult(
            self.report_dir,
            index,
            summary,
            {name: p.pid for name, p in self.processes.items()},
            failed,
            leftovers,
            checks,
            interrupted,
        )

    def _shutdown(self) -> dict[str, int]:
        """Stops everything; returns the services that had died (non-zero) before being asked to stop."""
        failed = {
            name: int(process.returncode or 0)
            for name, process in self.processes.items()
            if not process.running and process.returncode not in (0, None)
        }
        # Ctrl-C may land here too; finish the shutdown regardless.
        for step in (
            self._stop_feed,
            self.group.stop_all,
            self._stop_prometheus,
            self._close_scraper,
            self._teardown,
        ):
            try:
                step()
            except KeyboardInterrupt:
                step()
        stopped = ", ".join(f"{name} ({p.stopped_by})" for name, p in self.processes.items())
        if stopped:
            self.say(f"stopped: {stopped}")
        return failed

    def _stop_feed(self) -> None:
        if self.alert_feed is not None:
            self.alert_feed.stop()

    def _stop_prometheus(self) -> None:
        if self.prometheus is not None:
            self.prometheus.stop()

    def _close_scraper(self) -> None:
        if self.scraper is not None:
            self.scraper.close()

    # ---------------------------------------------------------------- report

    def _stage_summary(self, name: str) -> StageSummary:
        planned = self.planned[name]
        process = self.processes.get(name)
        if process is None:
            return StageSummary(name, planned.command_text, "not started")
        series = self.scraper.series.get(name) if self.scraper else None
        if process.stopped_by == "exit" and process.returncode != 0:
            status = f"exited {process.returncode}"
        elif process.stopped_by == "SIGKILL":
            status = "killed (ignored SIGTERM)"
        else:
            status = "ok"
        summary = StageSummary(
            name,
            planned.command_text,
            status,
            stopped_by=process.stopped_by,
            pid=process.pid,
            exit_code=process.returncode,
            cpu_seconds=round(process.usage.cpu_seconds, 2),
            peak_rss_bytes=process.usage.peak_rss_bytes or None,
        )
        summary.events = stage_events(name, series)
        metrics = stage_metrics().get(name)
        if series is not None and metrics is not None and metrics.latency:
            summary.p50_seconds = series.overall_quantile(metrics.latency, 0.5)
            summary.p99_seconds = series.overall_quantile(metrics.latency, 0.99)
        # Steady state: from the first sample with events to the last, so start-up imports do not count.
        points = [point for point in self._usage.get(name, []) if point.events]
        if len(points) >= 2 and points[-1].events and points[0].events is not None:
            events = points[-1].events - points[0].events
            seconds = points[-1].time - points[0].time
            if events > 0 and seconds > 0:
                summary.events_per_second = round(events / seconds, 1)
                cpu = points[-1].cpu_seconds - points[0].cpu_seconds
                summary.cpu_seconds_per_million_events = round(cpu / events * 1_000_000, 2)
        return summary

    def _write_report(self, started_wall: float, checks: list[QueryCheck]) -> Path | None:
        names = list(self.planned)
        data = RunData(
            started_at=started_wall,
            ended_at=time.time(),
            bootstrap=self.bootstrap,
            topic_prefix=self.settings.topics.prefix,
            series=self.scraper.series if self.scraper else {},
            alerts=self.alert_feed.snapshot() if self.alert_feed else [],
            stages=[self._stage_summary(name) for name in names],
            dashboard_checks=checks,
            prometheus_url=self.prometheus.url if self.prometheus else None,
            prometheus_pid=self._prometheus_pid,
            notes=self.notes,
        )
        try:
            index = write_report(data, self.report_dir)
        except Exception as error:
            log.exception("writing the report failed")
            self.say(f"report failed: {error}")
            return None
        self.say(f"report: {index}")
        return index
