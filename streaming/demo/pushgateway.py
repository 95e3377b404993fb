"""The Prometheus Pushgateway (Debian `prometheus-pushgateway`), run on 127.0.0.1 for the demo and the tests:
batch jobs push their metrics to it, and Prometheus scrapes it (with `honor_labels`, so the pushed `job`
label stays the batch job's)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from streaming.demo.prometheus import PrometheusError, free_port

DEFAULT_BINARY = "/usr/bin/prometheus-pushgateway"


def find_pushgateway(binary: str | None = None) -> str | None:
    """The pushgateway binary: the one given, /usr/bin/prometheus-pushgateway, or one on PATH."""
    for candidate in (
        binary,
        DEFAULT_BINARY,
        shutil.which("prometheus-pushgateway"),
        shutil.which("pushgateway"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


class PushgatewayServer:
    """One Pushgateway process on 127.0.0.1 (a free port unless given), stopped on exit.

    Parameters
    ----------
    data_dir
        Where its log goes (a temporary directory by default). Pushed metrics live in memory only.
    binary, port
        Which binary, which port.

    >>> PushgatewayServer(binary="/nonexistent/pushgateway").available
    False
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        binary: str | None = None,
        port: int | None = None,
        start_timeout_seconds: float = 20.0,
    ) -> None:
        self.binary = (
            find_pushgateway(binary) if binary is None else (binary if Path(binary).is_file() else None)
        )
        self.port = port
        self.start_timeout_seconds = start_timeout_seconds
        self._own_dir = data_dir is None
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None
        self._log_handle: Any = None

    @property
    def available(self) -> bool:
        return self.binary is not None

    @property
    def address(self) -> str:
        """host:port, as `metrics.pushgateway` and Prometheus targets take it."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> PushgatewayServer:
        if self.binary is None:
            raise PrometheusError(
                "the Pushgateway is not installed (Debian package `prometheus-pushgateway`: "
                "make observability-tools)"
            )
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="streaming-pushgateway-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1 if self.port else 3):
            if not self.port or attempt:
                self.port = free_port()
            self._log_handle = (self.data_dir / "pushgateway.log").open("ab")
            self.process = subprocess.Popen(
                [self.binary, f"--web.listen-address={self.address}", "--log.level=warn"],
                stdout=self._log_handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            if self._wait_ready():
                return self
            self.stop()
        raise PrometheusError(
            f"the Pushgateway did not become ready; see {self.data_dir / 'pushgateway.log'}"
        )

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

    def metrics_text(self) -> str:
        """What the Pushgateway exposes now (every pushed group)."""
        return httpx.get(f"{self.url}/metrics", timeout=10.0).text

    def stop(self, timeout_seconds: float = 10.0) -> None:
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

    def __enter__(self) -> PushgatewayServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
        if self._own_dir and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
