"""Run Debian's `redis-server` for the recommendation cache, the way `streaming.broker` runs Kafka.

The server listens on 127.0.0.1 only, keeps nothing on disk (`--save "" --appendonly no`: every entry can be
recomputed) and is bounded in memory with `allkeys-lru`, so a full cache evicts its coldest lists instead of
refusing writes. It runs detached and outlives the command that started it; `stop` shuts it down.
`REDIS_URL` (or the `redis_url` setting) names an external Redis instead, and then nothing is started.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from consumers.recommendations.serving_settings import RecommendationServingSettings

REDIS_URL_ENV = "REDIS_URL"


class RedisServerError(RuntimeError):
    """The local Redis cannot be started or reached. The message says what to do."""


@dataclass(frozen=True)
class RedisStatus:
    """What `LocalRedis.status` found."""

    running: bool
    url: str
    pid: int | None
    answering: bool
    used_memory_bytes: int | None
    maxmemory_bytes: int | None

    def describe(self) -> str:
        state = "running" if self.running else "stopped"
        if self.running and not self.answering:
            state = "running (not answering)"
        pid = f" pid={self.pid}" if self.pid else ""
        memory = ""
        if self.used_memory_bytes is not None:
            memory = f" used_memory={self.used_memory_bytes} maxmemory={self.maxmemory_bytes}"
        return f"{state}{pid} url={self.url}{memory}"


class LocalRedis:
    """A `redis-server` on 127.0.0.1, started and stopped by the project.

    Parameters
    ----------
    settings
        The serving settings: host, port, memory bound, data directory and start timeout.
    binary
        The server executable; Debian's package puts it on PATH.

    >>> redis = LocalRedis(RecommendationServingSettings(redis_port=16390, redis_home=Path("/tmp/doctest")))
    >>> redis.url
    'redis://127.0.0.1:16390/0'
    >>> redis.command_line()[:3]
    ['redis-server', '--bind', '127.0.0.1']
    >>> redis.status().running
    False
    """

    def __init__(
        self, settings: RecommendationServingSettings | None = None, binary: str = "redis-server"
    ) -> None:
        self.settings = settings or RecommendationServingSettings()
        self.binary = binary
        self.data_dir = self.settings.redis_data_dir()

    @property
    def url(self) -> str:
        return self.settings.local_redis_url()

    @property
    def log_file(self) -> Path:
        return self.data_dir / "redis.log"

    @property
    def _pid_file(self) -> Path:
        return self.data_dir / "redis.pid"

    @property
    def _console_file(self) -> Path:
        return self.data_dir / "console.log"

    def command_line(self) -> list[str]:
        return [
            self.binary,
            "--bind",
            self.settings.redis_host,
            "--port",
            str(self.settings.redis_port),
            # Every entry is recomputable: no snapshots, no append-only file, nothing written to disk.
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory",
            str(self.settings.redis_maxmemory_bytes),
            "--maxmemory-policy",
            "allkeys-lru",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            "--dir",
            str(self.data_dir),
            "--logfile",
            str(self.log_file),
        ]

    # Lifecycle -----------------------------------------------------------------------------------------

    def check_prerequisites(self) -> None:
        if shutil.which(self.binary) is None:
            raise RedisServerError(
                f"`{self.binary}` is not on PATH. Install it (`make redis-tools`, or "
                "apt-get install -y redis-server), or set REDIS_URL to an existing Redis."
            )

    def _read_pid(self) -> int | None:
        try:
            pid = int(self._pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if not _process_alive(pid):
            return None
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.is_file() and b"redis-server" not in cmdline.read_bytes():
            return None  # the pid was reused by something else
        return pid

    def port_open(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            return probe.connect_ex((self.settings.redis_host, self.settings.redis_port)) == 0

    def answers(self) -> bool:
        """True when the server answers PING."""
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=1.0, socket_connect_timeout=1.0)
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def status(self) -> RedisStatus:
        import redis

        pid = self._read_pid()
        answering = pid is not None and self.answers()
        used = maximum = None
        if answering:
            client = redis.Redis.from_url(self.url, socket_timeout=1.0)
            try:
                memory = client.info("memory")
                used, maximum = int(memory["used_memory"]), int(memory["maxmemory"])
            except (redis.RedisError, OSError, KeyError):
                pass
            finally:
                client.close()
        return RedisStatus(pid is not None, self.url, pid, answering, used, maximum)

    def start(self, timeout_seconds: float | None = None) -> str:
        """Start the server (a no-op when it already runs) and wait until it answers. Returns its URL."""
        timeout = self.settings.redis_start_timeout_seconds if timeout_seconds is None else timeout_seconds
        pid = self._read_pid()
        if pid is not None:
            self._wait_until_answering(pid, timeout)
            return self.url
        if self.port_open():
            raise RedisServerError(
                f"port {self.settings.redis_port} is taken by another process; choose another with --port "
                "or stop whatever listens there"
            )
        self.check_prerequisites()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._console_file.open("ab") as console:
            process = subprocess.Popen(
                self.command_line(),
                stdout=console,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.data_dir,
                start_new_session=True,
            )
        self._pid_file.write_text(str(process.pid))
        self._wait_until_answering(process.pid, timeout, process)
        return self.url

    def _wait_until_answering(
        self, pid: int, timeout_seconds: float, process: subprocess.Popen[bytes] | None = None
    ) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                self._pid_file.unlink(missing_ok=True)
                raise RedisServerError(
                    f"redis-server exited with code {process.returncode} while starting:\n"
                    + self.tail_log(20)
                )
            if self.answers():
                return
            time.sleep(0.05)
        raise RedisServerError(
            f"redis-server (pid {pid}) did not answer on {self.url} within {timeout_seconds:.0f} s:\n"
            + self.tail_log(20)
        )

    def stop(self, timeout_seconds: float = 10.0) -> bool:
        """SIGTERM, then SIGKILL after the timeout. Returns whether a server was running."""
        pid = self._read_pid()
        if pid is None:
            self._pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_seconds
        while _process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _process_alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _process_alive(pid):
                time.sleep(0.05)
        self._pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL, as a crash would; for failure tests."""
        pid = self._read_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while _process_alive(pid):
                time.sleep(0.01)
        self._pid_file.unlink(missing_ok=True)

    def tail_log(self, lines: int = 50) -> str:
        chunks = [
            f"==> {path} <==\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            for path in (self._console_file, self.log_file)
            if path.is_file()
        ]
        return "\n".join(chunks) if chunks else f"no log yet under {self.data_dir}"


def resolve_redis_url(
    settings: RecommendationServingSettings, start_local: bool = True, environ: dict[str, str] | None = None
) -> str:
    """The Redis to use: the `redis_url` setting, else `$REDIS_URL`, else the local server (started here).

    >>> resolve_redis_url(RecommendationServingSettings(), environ={"REDIS_URL": "redis://cache:6379/1"})
    'redis://cache:6379/1'
    """
    environment = os.environ if environ is None else environ
    if settings.redis_url:
        return settings.redis_url
    external = environment.get(REDIS_URL_ENV)
    if external:
        return external
    local = LocalRedis(settings)
    if start_local:
        return local.start()
    if local.status().answering:
        return local.url
    raise RedisServerError("no Redis: set REDIS_URL, or run `streaming redis start`")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # A zombie still answers signal 0; for us it is gone.
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
