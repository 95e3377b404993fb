"""A real Prometheus server on loopback, scraping given targets: for the demo and the dashboard tests.

It runs the Debian `prometheus` binary with a generated scrape config (one job per service, 1 s interval),
a throw-away data directory and a free port, waits until `/-/ready` answers, and answers instant queries.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

from streaming.ports import free_listening_port

DEFAULT_BINARY = "/usr/bin/prometheus"


class PrometheusError(RuntimeError):
    """Prometheus could not start, or a query failed."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port for a server of the run: see `streaming.ports.free_listening_port`."""
    return free_listening_port(host)


def find_prometheus(binary: str | None = None) -> str | None:
    """The prometheus binary to run: the one given, /usr/bin/prometheus, or one on PATH."""
    for candidate in (binary, DEFAULT_BINARY, shutil.which("prometheus")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def scrape_config(
    targets: Mapping[str, str],
    scrape_interval_seconds: float = 1.0,
    rule_files: Sequence[str] = (),
    alertmanagers: Sequence[str] = (),
    honor_labels: Sequence[str] = (),
) -> dict[str, Any]:
    """A Prometheus configuration with one job per service name, each scraping `host:port`. Jobs named in
    `honor_labels` keep the labels of what they expose (a Pushgateway: the pushed `job` label wins).

    >>> config = scrape_config({"alerts": "127.0.0.1:9106"})
    >>> config["scrape_configs"][0]["job_name"], config["scrape_configs"][0]["static_configs"]
    ('alerts', [{'targets': ['127.0.0.1:9106']}])
    """
    interval = _duration(scrape_interval_seconds)
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": interval},
        "scrape_configs": [
            {
                "job_name": job,
                "static_configs": [{"targets": [target]}],
                **({"honor_labels": True} if job in honor_labels else {}),
            }
            for job, target in targets.items()
        ],
    }
    if rule_files:
        config["rule_files"] = list(rule_files)
    if alertmanagers:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": list(alertmanagers)}]}]}
    return config


def _duration(seconds: float) -> str:
    milliseconds = round(seconds * 1000)
    return f"{milliseconds // 1000}s" if milliseconds % 1000 == 0 else f"{milliseconds}ms"


class PrometheusServer:
    """One Prometheus process, started on 127.0.0.1 and stopped on exit.

    >>> server = PrometheusServer({"demo": "127.0.0.1:9"}, binary="/nonexistent/prometheus")
    >>> server.available
    False
    """

    def __init__(
        self,
        targets: Mapping[str, str],
        data_dir: Path | None = None,
        binary: str | None = None,
        port: int | None = None,
        scrape_interval_seconds: float = 1.0,
        rule_files: Sequence[str] = (),
        alertmanagers: Sequence[str] = (),
        start_timeout_seconds: float = 30.0,
        honor_labels: Sequence[str] = (),
    ) -> None:
        self.targets = dict(targets)
        self.honor_labels = list(honor_labels)
        self.binary = (
            find_prometheus(binary) if binary is None else (binary if Path(binary).is_file() else None)
        )
        self.port = port
        self.scrape_interval_seconds = scrape_interval_seconds
        self.rule_files = list(rule_files)
        self.alertmanagers = list(alertmanagers)
        self.start_timeout_seconds = start_timeout_seconds
        self._own_dir = data_dir is None
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None
        self._log_handle: Any = None

    @property
    def available(self) -> bool:
        return self.binary is not None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "prometheus.log"

    def start(self) -> PrometheusServer:
        if self.binary is None:
            raise PrometheusError(
                "prometheus is not installed (Debian package `prometheus`: make observability-tools)"
            )
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="streaming-prometheus-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config_path = self.data_dir / "prometheus.yml"
        config = scrape_config(
            self.targets, self.scrape_interval_seconds, self.rule_files, self.alertmanagers, self.honor_labels
        )
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        attempts = 1 if self.port else 3
        for attempt in range(attempts):
            if not self.port or attempt:
                self.port = free_port()
            self._log_handle = self.log_file.open("ab")
            self.process = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={config_path}",
                    f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--storage.tsdb.retention.time=1d",
                    "--log.level=warn",
                ],
                stdout=self._log_handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            if self._wait_ready():
                return self
            self._terminate()
        raise PrometheusError(f"prometheus did not become ready; log:\n{self.tail_log()}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.start_timeout_seconds
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1.0).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        return False

    def tail_log(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Run an instant query; returns the result vector (each item has `metric` and `value`)."""
        params: dict[str, str] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        response = httpx.get(f"{self.url}/api/v1/query", params=params, timeout=10.0)
        body = response.json()
        if body.get("status") != "success":
            raise PrometheusError(f"query failed: {expr}: {body.get('errorType')}: {body.get('error')}")
        data = body["data"]
        if data["resultType"] in ("vector", "matrix"):
            return list(data["result"])
        # A scalar or string result: one unlabelled value.
        return [{"metric": {}, "value": data["result"]}]

    def targets_health(self) -> dict[str, str]:
        """{job: health} of the active scrape targets ("up", "down" or "unknown")."""
        body = httpx.get(f"{self.url}/api/v1/targets", timeout=10.0).json()
        return {target["labels"]["job"]: target["health"] for target in body["data"]["activeTargets"]}

    def stop(self, timeout_seconds: float = 10.0) -> None:
        self._terminate(timeout_seconds)
        if self._own_dir and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _terminate(self, timeout_seconds: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout_seconds)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
