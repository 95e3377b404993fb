"""Run a real Apache Kafka broker without Docker: jars from Maven Central, KRaft combined mode, loopback only.

The jars are resolved once into a per-user cache (`~/.cache/streaming/kafka-<version>/lib`) by Maven from the
pinned `pom.xml` beside this module. The broker runs detached, so it outlives the command that started it;
`stop` shuts it down cleanly.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from streaming.config import BrokerSettings

MINIMUM_JAVA_MAJOR = 17


class BrokerError(RuntimeError):
    """The local broker cannot be installed, started or reached. The message says what to do."""


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    bootstrap: str
    pid: int | None
    data_dir: Path
    answering: bool

    def describe(self) -> str:
        state = "running" if self.running else "stopped"
        if self.running and not self.answering:
            state = "running (not answering yet)"
        pid = f" pid={self.pid}" if self.pid else ""
        return f"{state}{pid} bootstrap={self.bootstrap} data_dir={self.data_dir}"


def java_major_version(java: str = "java") -> int:
    """The major version of the `java` on PATH, e.g. 17."""
    try:
        completed = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except FileNotFoundError as error:
        raise BrokerError(
            "Java 17 or newer is needed to run the local Kafka broker, and `java` is not on PATH. "
            "Install it (Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless), "
            "or point KAFKA_BOOTSTRAP_SERVERS at an existing cluster."
        ) from error
    match = re.search(r'version "(\d+)(?:\.(\d+))?', completed.stderr + completed.stdout)
    if not match:
        raise BrokerError(f"cannot read the Java version from: {completed.stderr.strip()!r}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def random_cluster_id() -> str:
    """As `kafka-storage.sh random-uuid`: a URL-safe base64 UUID without padding, and, as Kafka's own
    generator, never one starting with "-", which a command line would take for an option.

    >>> all(not random_cluster_id().startswith("-") for _ in range(1000))
    True
    """
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class LocalBroker:
    """A single-node Kafka (broker and controller in one process) on 127.0.0.1.

    >>> broker = LocalBroker(BrokerSettings(port=19092, home=Path("/tmp/streaming-doctest")))
    >>> broker.bootstrap
    '127.0.0.1:19092'
    >>> broker.status().running
    False
    """

    def __init__(self, settings: BrokerSettings | None = None) -> None:
        self.settings = settings or BrokerSettings()
        self.data_dir = self.settings.resolved_data_dir()
        self.jar_dir = self.settings.jar_dir()

    @property
    def bootstrap(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "server.log"

    @property
    def _pid_file(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def _console_file(self) -> Path:
        return self.data_dir / "logs" / "console.log"

    # Installation -------------------------------------------------------------------------------------

    def check_prerequisites(self) -> None:
        major = java_major_version()
        if major < MINIMUM_JAVA_MAJOR:
            raise BrokerError(
                f"Kafka {self.settings.kafka_version} needs Java {MINIMUM_JAVA_MAJOR}+, found Java {major}. "
                "Install openjdk-17 (or newer), or set KAFKA_BOOTSTRAP_SERVERS to an existing cluster."
            )
        if not self.jars_installed() and shutil.which("mvn") is None:
            raise BrokerError(
                "Maven (`mvn`) is needed once, to fetch the Kafka jars from Maven Central, and it is not on "
                "PATH. Install it (Debian/Ubuntu: apt-get install -y maven), or set KAFKA_BOOTSTRAP_SERVERS."
            )

    def jars_installed(self) -> bool:
        return (self.jar_dir / ".complete").is_file()

    def install_jars(self) -> Path:
        """Resolve the broker's jars with Maven into the cache, once."""
        if self.jars_installed():
            return self.jar_dir
        self.check_prerequisites()
        self.jar_dir.mkdir(parents=True, exist_ok=True)
        pom = resources.files("streaming.broker").joinpath("pom.xml")
        with resources.as_file(pom) as pom_path:
            command = [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(pom_path),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={self.jar_dir}",
            ]
            completed = subprocess.run(command, capture_output=True, text=True)
        if completed.returncode != 0:
            raise BrokerError(
                "Maven could not resolve the Kafka jars:\n" + (completed.stdout + completed.stderr)[-4000:]
            )
        if not list(self.jar_dir.glob("kafka_2.13-*.jar")):
            raise BrokerError(f"Maven finished but no Kafka jar is in {self.jar_dir}")
        (self.jar_dir / ".complete").write_text(self.settings.kafka_version)
        return self.jar_dir

    # Configuration ------------------------------------------------------------------------------------

    def server_properties(self) -> str:
        host = self.settings.host
        controller = self.settings.resolved_controller_port()
        lines = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{host}:{controller}",
            "listeners": f"PLAINTEXT://{host}:{self.settings.port},CONTROLLER://{host}:{controller}",
            "advertised.listeners": f"PLAINTEXT://{host}:{self.settings.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data_dir / "kraft-logs"),
            "num.partitions": str(self.settings.default_partitions),
            # One node: internal topics cannot have more replicas than brokers, or groups and
            # transactions never become available.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "10",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            "log.retention.hours": "24",
            "log.segment.bytes": str(64 * 1024 * 1024),
            "message.max.bytes": str(4 * 1024 * 1024),
            "transaction.max.timeout.ms": "900000",
        }
        return "\n".join(f"{key}={value}" for key, value in lines.items()) + "\n"

    def _write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "logs").mkdir(exist_ok=True)
        path = self.data_dir / "server.properties"
        path.write_text(self.server_properties())
        log4j = resources.files("streaming.broker").joinpath("log4j2.properties").read_text()
        (self.data_dir / "log4j2.properties").write_text(log4j)
        return path

    def _classpath(self) -> str:
        return str(self.jar_dir / "*")

    def _format_storage(self, properties: Path) -> None:
        if (self.data_dir / "kraft-logs" / "meta.properties").is_file():
            return
        cluster_id = self._cluster_id()
        command = [
            "java",
            "-cp",
            self._classpath(),
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.data_dir / 'logs'}",
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            "--ignore-formatted",
            "-t",
            cluster_id,
            "-c",
            str(properties),
        ]
        completed = subprocess.run(command, capture_output=True, text=True)
        if completed.returncode != 0:
            raise BrokerError("formatting the KRaft storage failed:\n" + completed.stdout + completed.stderr)

    def _cluster_id(self) -> str:
        path = self.data_dir / "cluster.id"
        # An id that starts with "-" never formatted anything (the tool reads it as an option): replace it.
        if path.is_file() and not path.read_text().strip().startswith("-"):
            return path.read_text().strip()
        cluster_id = random_cluster_id()
        path.write_text(cluster_id)
        return cluster_id

    # Lifecycle -----------------------------------------------------------------------------------------

    def _read_pid(self) -> int | None:
        try:
            pid = int(self._pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.is_file() and b"kafka.Kafka" not in cmdline.read_bytes():
            return None
        return pid

    def port_open(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            return probe.connect_ex((self.settings.host, self.settings.port)) == 0

    def answers_metadata(self, timeout_seconds: float = 5.0) -> bool:
        """True when the broker answers a metadata request and has a controller."""
        from streaming.kafka.admin import cluster_answers

        if not self.port_open():
            return False
        return cluster_answers(self.bootstrap, timeout_seconds, client_id="streaming-broker-probe")

    def status(self) -> BrokerStatus:
        pid = self._read_pid()
        return BrokerStatus(
            running=pid is not None,
            bootstrap=self.bootstrap,
            pid=pid,
            data_dir=self.data_dir,
            answering=pid is not None and self.answers_metadata(),
        )

    def start(self, fresh: bool = False, timeout_seconds: float | None = None) -> str:
        """Start the broker (a no-op when it already runs) and wait until it answers. Returns bootstrap."""
        timeout = timeout_seconds if timeout_seconds is not None else self.settings.start_timeout_seconds
        if fresh:
            self.stop()
            shutil.rmtree(self.data_dir, ignore_errors=True)
        pid = self._read_pid()
        if pid is not None:
            self._wait_until_answering(pid, timeout)
            return self.bootstrap
        if self.port_open():
            raise BrokerError(
                f"port {self.settings.port} is taken by another process; choose another with --port "
                "or stop whatever listens there"
            )
        self.install_jars()
        properties = self._write_config()
        self._format_storage(properties)
        command = [
            "java",
            f"-Xmx{self.settings.heap}",
            f"-Xms{min(256, _megabytes(self.settings.heap))}m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.data_dir / 'logs'}",
            "-cp",
            self._classpath(),
            "kafka.Kafka",
            str(properties),
        ]
        console = self._console_file.open("ab")
        process = subprocess.Popen(
            command,
            stdout=console,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.data_dir,
            start_new_session=True,
        )
        console.close()
        self._pid_file.write_text(str(process.pid))
        self._wait_until_answering(process.pid, timeout, process)
        return self.bootstrap

    def _wait_until_answering(
        self, pid: int, timeout_seconds: float, process: subprocess.Popen[bytes] | None = None
    ) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise BrokerError(
                    f"the broker exited with code {process.returncode} while starting; last log lines:\n"
                    + self.tail_logs(40)
                )
            if self.answers_metadata(timeout_seconds=2.0):
                return
            time.sleep(0.3)
        raise BrokerError(
            f"the broker (pid {pid}) did not answer on {self.bootstrap} within {timeout_seconds:.0f} s; "
            "last log lines:\n" + self.tail_logs(40)
        )

    def stop(self, timeout_seconds: float = 60.0) -> bool:
        """Clean shutdown (SIGTERM, then SIGKILL after the timeout). Returns whether a broker was running."""
        pid = self._read_pid()
        if pid is None:
            self._pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if not process_alive(pid):
                break
            time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGKILL)
            while process_alive(pid):
                time.sleep(0.1)
        self._pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> bool:
        """SIGKILL, as a crashed host would (no clean shutdown, no flush). For fault tests and chaos
        runs; `start()` afterwards recovers from the data directory. Returns whether one was running."""
        pid = self._read_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGKILL)
        # The JVM's main thread turns zombie before its other threads have exited and closed the sockets.
        deadline = time.monotonic() + 30.0
        while (process_alive(pid) or self.port_open()) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._pid_file.unlink(missing_ok=True)
        return True

    def tail_logs(self, lines: int = 50) -> str:
        chunks = []
        for path in (self._console_file, self.log_file):
            if path.is_file():
                content = path.read_text(errors="replace").splitlines()[-lines:]
                chunks.append(f"==> {path} <==\n" + "\n".join(content))
        return "\n".join(chunks) if chunks else f"no logs yet under {self.data_dir / 'logs'}"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers signal 0; it is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    return True


def _megabytes(heap: str) -> int:
    match = re.fullmatch(r"(\d+)([mMgG])", heap)
    if not match:
        raise BrokerError(f"heap must look like 768m or 2g, got {heap!r}")
    value = int(match.group(1))
    return value * 1024 if match.group(2).lower() == "g" else value
