"""Running the demo sites: each site on its own port, uvicorn servers in daemon threads."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from services.ingest.demo_sites.feed_sites import feed_variant_apps
from services.ingest.demo_sites.sites import Stats, build_apps


@dataclass
class DemoWeb:
    """Handle on the running sites. ``base_urls`` maps site key to ``http://host:port``."""

    base_urls: dict[str, str]
    stats: Stats
    _servers: list[uvicorn.Server] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def allow_hosts(self) -> list[str]:
        """``host:port`` entries for ``WARTA_CRAWL_ALLOW_HOSTS``."""
        return [url.removeprefix("http://") for url in self.base_urls.values()]

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every server and join its thread. Idempotent."""
        for server in self._servers:
            server.should_exit = True
        for thread in self._threads:
            thread.join(timeout)

    def __enter__(self) -> DemoWeb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _with_latency(app: Any, latency_s: float) -> Any:
    """``app`` (ASGI) answering every HTTP request ``latency_s`` later."""

    async def delayed(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(latency_s)
        await app(scope, receive, send)

    return delayed


def start_demo_sites(
    host: str = "127.0.0.1",
    base_port: int = 8101,
    *,
    slow_delay_s: float = 1.0,
    history: bool = False,
    latency_s: float = 0.0,
) -> DemoWeb:
    """Start the sites on ports ``base_port`` .. ``base_port + 6`` (``base_port=0``: free ports)
    and return once all accept connections (``history``: with older articles for backfills, see
    ``build_apps``). The feed-variant sites (``feed_sites``) follow on the next ports.
    ``latency_s`` delays every HTTP response of every site (a simulated network, for benchmarks).
    Raises ``OSError`` when a port is taken."""
    stats = Stats()
    apps: dict[str, Any] = {**build_apps(stats, slow_delay_s, history), **feed_variant_apps(stats)}
    if latency_s > 0:
        apps = {key: _with_latency(app, latency_s) for key, app in apps.items()}
    web = DemoWeb(base_urls={}, stats=stats)
    for index, (key, app) in enumerate(apps.items()):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, base_port + index if base_port else 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"demo-{key}", daemon=True)
        thread.start()
        web.base_urls[key] = f"http://{host}:{port}"
        web._servers.append(server)
        web._threads.append(thread)
    deadline = time.monotonic() + 10
    while not all(s.started for s in web._servers):
        if time.monotonic() > deadline:
            web.stop()
            raise RuntimeError("demo sites did not start")
        time.sleep(0.02)
    return web


def serve_demo_sites(
    host: str = "127.0.0.1", base_port: int = 8101, stop_event: threading.Event | None = None, *, history: bool = False
) -> None:
    """Serve the demo sites until ``stop_event`` is set (forever when None; Ctrl-C stops)."""
    web = start_demo_sites(host, base_port, history=history)
    try:
        for key, url in web.base_urls.items():
            print(f"{key:12s} {url}", flush=True)
        if stop_event is None:
            threading.Event().wait()
        else:
            stop_event.wait()
    except KeyboardInterrupt:
        pass
    finally:
        web.stop()
