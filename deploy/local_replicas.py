"""Several replicas of the assistant on this machine, behind nginx: the deployment of
docs/deploy.md in miniature, used by `make test-scale` so the files in deploy/ are run.

    .venv/bin/python deploy/local_replicas.py [--replicas 2] [--port 8080]

starts, on 127.0.0.1 only: the action servers, the Rasa replicas (`rasa run` with
deploy/endpoints.yml and deploy/credentials.yml) and nginx (deploy/nginx.conf.template),
and stops them all on Ctrl+C. The database, the tracker store and Redis are not started
here: they are the environment's TRACKER_STORE_URL (PostgreSQL), DATABASE_URL and
REDIS_URL, as on a real server, and the replicas refuse to share SQLite files or run
without Redis. nginx is run as this user's own process (`nginx -p DIR -c FILE`), never
the system service.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bot.services import ServiceError, free_port, newest_model, start_action_server, wait_for_http  # noqa: E402
from bot.settings import Settings, child_environment, get_settings  # noqa: E402

DEPLOY_DIR = REPO_ROOT / "deploy"
NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx")
# Two replicas share the machine's cores: one TensorFlow thread pool each, not one per core.
REPLICA_ENV = {"TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1"}
STOP_SECONDS = 60  # a replica finishes its accepted turns first (bot.channels.base.DRAIN_SECONDS)


def find_nginx() -> str | None:
    for candidate in NGINX_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def check_settings(settings: Settings) -> None:
    """Replicas need shared stores: a database server and Redis."""
    if settings.tracker_store_url.startswith("sqlite") or settings.database_url.startswith("sqlite"):
        raise ServiceError("replicas need PostgreSQL: set TRACKER_STORE_URL and DATABASE_URL")
    if not settings.redis_url:
        raise ServiceError("replicas need Redis: set REDIS_URL")
    if not settings.telegram.enabled:
        raise ServiceError("set TELEGRAM_TOKEN and TELEGRAM_SECRET_TOKEN (the replicas serve Telegram)")


def _stop(process: subprocess.Popen | None, timeout: float = STOP_SECONDS) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class LocalDeployment:
    """nginx + `replicas` Rasa servers + `action_servers` action servers, on 127.0.0.1."""

    replicas: int = 2
    action_servers: int = 2
    port: int = 0  # nginx's public port (0: a free one)
    log_dir: Path | None = None
    runtime: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bot-replicas-")))
    settings: Settings = field(default_factory=get_settings)
    rasa_ports: list[int] = field(default_factory=list)
    action_ports: list[int] = field(default_factory=list)
    actions_lb_port: int = 0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def logs(self) -> Path:
        """Where every process logs (kept after `stop` when `log_dir` was given)."""
        directory = self.log_dir or self.runtime
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def _log(self, name: str) -> object:
        return (self.logs / f"{name}.log").open("ab")

    def _env(self) -> dict[str, str]:
        return child_environment(
            {
                **REPLICA_ENV,
                "LOG_LEVEL": self.settings.log_level,
                "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.actions_lb_port}/webhook",
            },
            quiet=True,
        )

    def prepare(self) -> None:
        """Migrate the database and load the directory once, before replicas start together."""
        from bot import db
        from bot.directory import ensure_loaded_or_warn

        check_settings(self.settings)
        db.upgrade(db.get_engine(self.settings.database_url))
        print(f"Directory: {ensure_loaded_or_warn(self.settings.database_url)}", flush=True)

    def write_nginx_config(self) -> Path:
        def servers(ports: list[int]) -> str:
            # max_fails=0: never mark a replica down for a while. A busy replica answering
            # slowly stays in its chats' way, and a stopped one costs a refused connection on
            # 127.0.0.1 before nginx passes the request on (proxy_next_upstream).
            return "\n".join(f"        server 127.0.0.1:{port} max_fails=0;" for port in ports)

        template = Template((DEPLOY_DIR / "nginx.conf.template").read_text(encoding="utf-8"))
        config = template.substitute(
            prefix=self.runtime,
            logs=self.logs,
            port=self.port,
            actions_port=self.actions_lb_port,
            rasa_servers=servers(self.rasa_ports),
            action_servers=servers(self.action_ports),
        )
        path = self.runtime / "nginx.conf"
        path.write_text(config, encoding="utf-8")
        return path

    def start_replica(self, index: int) -> subprocess.Popen:
        model = newest_model(settings=self.settings)
        command = [
            sys.executable, "-m", "rasa", "run",
            "--model", str(model),
            "--interface", "127.0.0.1",
            "--port", str(self.rasa_ports[index]),
            "--endpoints", str(DEPLOY_DIR / "endpoints.yml"),
            "--credentials", str(DEPLOY_DIR / "credentials.yml"),
        ]  # fmt: skip
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=self._env(), stdout=self._log(f"rasa-{index}"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.processes[f"rasa-{index}"] = process
        return process

    def wait_replica(self, index: int, timeout: float = 420) -> None:
        process = self.processes[f"rasa-{index}"]
        wait_for_http(f"http://127.0.0.1:{self.rasa_ports[index]}/webhooks/telegram/", timeout, process)

    def stop_replica(self, index: int) -> int | None:
        """SIGTERM, as systemd or Kubernetes would: the replica drains, then exits."""
        process = self.processes.pop(f"rasa-{index}", None)
        _stop(process)
        return process.returncode if process else None

    def start(self, timeout: float = 420) -> None:
        nginx = find_nginx()
        if nginx is None:
            raise ServiceError("nginx is not installed (Debian: apt-get install nginx)")
        self.prepare()
        self.port = self.port or free_port()
        self.actions_lb_port = free_port()
        self.rasa_ports = [free_port() for _ in range(self.replicas)]
        self.action_ports = [free_port() for _ in range(self.action_servers)]
        try:
            for index, port in enumerate(self.action_ports):
                # Its own log file: the errors of actions show only there.
                log = self._log(f"actions-{index}")
                self.processes[f"actions-{index}"] = start_action_server(port, self._env(), stderr=log)  # type: ignore[arg-type]
            for index in range(self.replicas):
                self.start_replica(index)
            config = self.write_nginx_config()
            check = subprocess.run(
                [nginx, "-t", "-q", "-p", str(self.runtime), "-c", str(config)],
                capture_output=True, text=True,
            )  # fmt: skip
            if check.returncode != 0:
                raise ServiceError(f"nginx rejected the configuration: {check.stderr.strip()}")
            self.processes["nginx"] = subprocess.Popen(
                [nginx, "-p", str(self.runtime), "-c", str(config)],
                stdout=self._log("nginx"), stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            for index, port in enumerate(self.action_ports):
                wait_for_http(f"http://127.0.0.1:{port}/health", timeout, self.processes[f"actions-{index}"])
            for index in range(self.replicas):
                self.wait_replica(index, timeout)
            wait_for_http(f"{self.url}/webhooks/telegram/", 30, self.processes["nginx"])
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """nginx first (no new requests), then the replicas (they drain), then the action servers."""
        _stop(self.processes.pop("nginx", None), 10)
        for name in [name for name in self.processes if name.startswith("rasa-")]:
            _stop(self.processes.pop(name))
        for name in list(self.processes):
            _stop(self.processes.pop(name), 10)
        shutil.rmtree(self.runtime, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--action-servers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080, help="nginx on 127.0.0.1 (default 8080)")
    args = parser.parse_args(argv)
    deployment = LocalDeployment(args.replicas, args.action_servers, args.port)
    try:
        deployment.start()
    except ServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"nginx on {deployment.url}: {args.replicas} replicas, {args.action_servers} action servers")
    print(f"Telegram webhook: {deployment.url}/webhooks/telegram/webhook. Press Ctrl+C to stop.")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while all(process.poll() is None for process in deployment.processes.values()):
            time.sleep(1)
        print("error: a process exited; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        deployment.stop()


if __name__ == "__main__":
    sys.exit(main())
