"""Test fixtures.

Tests that talk to Kafka, Elasticsearch or Redis carry a marker (``kafka``, ``elasticsearch``,
``redis``, or ``e2e`` for all three). A test without one cannot reach those servers: the socket
guard below refuses the connection, so a unit test can never depend on them by accident.
Every integration test gets its own namespace (topic, index and Redis key prefix), removed after.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline import Namespace, Pipeline

SERVICE_MARKERS = {"kafka", "elasticsearch", "redis", "e2e"}
SERVICE_PORTS = {
    int(os.environ.get("WARTA_STACK_KAFKA_PORT", 9092)),
    int(os.environ.get("WARTA_STACK_KAFKA_CONTROLLER_PORT", 9093)),
    int(os.environ.get("WARTA_STACK_ES_PORT", 9200)),
    int(os.environ.get("WARTA_STACK_REDIS_PORT", 6379)),
}
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "test-logs"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class ServiceAccessBlocked(ConnectionRefusedError):
    pass


def _guarded(real):  # type: ignore[no-untyped-def]
    def connect(self, address):  # type: ignore[no-untyped-def]
        if isinstance(address, tuple) and len(address) >= 2 and address[1] in SERVICE_PORTS:
            raise ServiceAccessBlocked(f"test without a service marker tried to reach port {address[1]}")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True)
def _block_services_without_marker(request: pytest.FixtureRequest) -> Iterator[None]:
    if SERVICE_MARKERS & {m.name for m in request.node.iter_markers()}:
        yield
        return
    socket.socket.connect = _guarded(_real_connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded(_real_connect_ex)  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = _real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


@pytest.fixture
def namespace(request: pytest.FixtureRequest) -> Iterator[Namespace]:
    """A fresh, isolated namespace with its topics created; everything under it is deleted after."""
    ns = Namespace()
    if request.node.get_closest_marker("kafka") or request.node.get_closest_marker("e2e"):
        ns.create()
    try:
        yield ns
    finally:
        ns.cleanup()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """A failed test that started a pipeline gets the tail of each process log in its report."""
    report = yield
    if report.when == "call" and report.failed:
        for p in item.stash.get(_PIPELINES, []):
            for proc in p.procs.values():  # the consumer loops dump their threads' stacks on SIGUSR1
                if proc.alive() and proc.args[-1] in ("bridge", "indexer"):
                    os.kill(proc.popen.pid, signal.SIGUSR1)  # type: ignore[union-attr]
            time.sleep(0.5)
            report.sections.append((f"process logs ({p.log_dir})", _log_tails(p)))
    return report


_PIPELINES = pytest.StashKey[list[Pipeline]]()
LOG_TAIL_LINES = 25


def _log_tails(pipeline: Pipeline) -> str:
    """The last lines of every process log: CI shows the failure report, not the log files."""
    out = []
    for proc in pipeline.procs.values():
        lines = proc.log.read_text(errors="replace").splitlines() if proc.log.exists() else []
        out.append(f"--- {proc.name} (alive={proc.alive()}) last {LOG_TAIL_LINES} of {len(lines)} lines ---")
        out.extend(line[:400] for line in lines[-LOG_TAIL_LINES:])
    return "\n".join(out)


@pytest.fixture
def pipeline_factory(namespace: Namespace, request: pytest.FixtureRequest) -> Iterator:  # type: ignore[type-arg]
    """Start the Warta processes on the test's namespace: ``pipeline_factory(extra_env=..., workers=...)``."""
    started: list[Pipeline] = []
    request.node.stash[_PIPELINES] = started

    def make(extra_env: dict[str, str] | None = None, start: bool = True, **options: Any) -> Pipeline:
        """``options`` are :class:`Pipeline`'s (``workers``, ``concurrency``, ``indexers``)."""
        log_dir = ARTIFACTS / request.node.name.replace("/", "_")
        if not started:  # logs of an earlier run of this test would be appended to
            shutil.rmtree(log_dir, ignore_errors=True)
        p = Pipeline(namespace, log_dir, extra_env=extra_env, **options)
        started.append(p)
        if start:
            p.start()
        return p

    try:
        yield make
    finally:
        for p in started:
            p.stop()
