"""A real Spark standalone cluster on 127.0.0.1 for the tests: one master, N workers, stopped after.

Started with pyspark's own `spark-class` (the Master and Worker daemons), so it needs nothing that
`make setup` did not install.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.find_spark_home import _find_spark_home


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class StandaloneCluster:
    workdir: Path
    workers: int = 2
    cores_per_worker: int = 1
    memory_per_worker: str = "2g"
    port: int = field(default_factory=free_port)
    webui_port: int = field(default_factory=free_port)
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def master_url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def status(self) -> dict[str, Any]:
        """The master's JSON status: workers, active and completed applications."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.webui_port}/json/", timeout=5) as r:
            return dict(json.load(r))

    def start(self, timeout: float = 90.0) -> StandaloneCluster:
        env = {
            **os.environ,
            "SPARK_HOME": _find_spark_home(),
            "PYSPARK_PYTHON": sys.executable,
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOG_DIR": str(self.workdir / "logs"),
        }
        spark_class = str(Path(env["SPARK_HOME"]) / "bin" / "spark-class")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._spawn(
            [
                spark_class,
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--webui-port",
                str(self.webui_port),
            ],
            env,
            "master",
        )
        for n in range(self.workers):
            self._spawn(
                [
                    spark_class,
                    "org.apache.spark.deploy.worker.Worker",
                    self.master_url,
                    "--host",
                    "127.0.0.1",
                    "--cores",
                    str(self.cores_per_worker),
                    "--memory",
                    self.memory_per_worker,
                    "--webui-port",
                    str(free_port()),
                    "--work-dir",
                    str(self.workdir / f"worker-{n}"),
                ],
                env,
                f"worker-{n}",
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                alive = [w for w in self.status()["workers"] if w["state"] == "ALIVE"]
                if len(alive) == self.workers:
                    return self
            except OSError:
                pass
            time.sleep(1)  # polling the master's status page until the workers registered
        self.stop()
        raise TimeoutError(
            f"standalone cluster did not come up in {timeout}s; logs in {self.workdir}"
        )

    def stop(self) -> None:
        for process in reversed(self._processes):
            process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self._processes.clear()

    def _spawn(self, command: list[str], env: dict[str, str], name: str) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self._processes.append(
            subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        )
