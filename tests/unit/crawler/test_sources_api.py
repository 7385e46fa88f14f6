"""The /v1/sources router on a bare app with the registry dependency overridden."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.ingest.crawler.registry import SourceRegistry
from services.ingest.settings import IngestSettings
from services.ingest.sources_api import get_registry, get_settings, sources_router


class ApiClient:
    """Synchronous calls into the ASGI app through httpx's ASGITransport (starlette's ApiClient
    warns about its httpx backend, and warnings are errors here)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as http:
                return await http.request(method, url, **kwargs)

        return asyncio.run(call())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[ApiClient]:
    settings = IngestSettings(ingest_data_dir=tmp_path, crawl_allow_hosts=["127.0.0.1:8101"])
    registry = SourceRegistry(settings.registry_path)
    app = FastAPI()
    app.include_router(sources_router)
    app.dependency_overrides[get_registry] = lambda: registry
    app.dependency_overrides[get_settings] = lambda: settings
    yield ApiClient(app)


def _create(client: ApiClient, **overrides: object) -> dict:  # type: ignore[type-arg]
    body = {
        "type": "rss",
        "name": "Lintas Muria",
        "url": "https://lintasmuria.example/feed/",
        "region": "Jawa Tengah",
        **overrides,
    }
    response = client.post("/v1/sources", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_create_list_get_update_disable(client: ApiClient) -> None:
    created = _create(client)
    assert created["id"] == "lintas-muria"
    assert created["enabled"] is True
    assert client.get("/v1/sources").json()["sources"][0]["id"] == "lintas-muria"
    assert client.get("/v1/sources/lintas-muria").json()["url"] == "https://lintasmuria.example/feed/"
    patched = client.patch("/v1/sources/lintas-muria", json={"max_interval_s": 1800, "include_patterns": ["^/20"]})
    assert patched.status_code == 200
    assert patched.json()["max_interval_s"] == 1800
    assert patched.json()["include_patterns"] == ["^/20"]
    assert patched.json()["name"] == "Lintas Muria"  # untouched fields stay
    assert client.post("/v1/sources/lintas-muria/disable").json()["enabled"] is False
    assert client.get("/v1/sources", params={"enabled": True}).json()["sources"] == []
    assert client.post("/v1/sources/lintas-muria/crawl").status_code == 409
    assert client.post("/v1/sources/lintas-muria/enable").json()["enabled"] is True
    assert client.post("/v1/sources/lintas-muria/crawl").status_code == 202


def test_health_of_a_new_source(client: ApiClient) -> None:
    _create(client, id="baru")
    health = client.get("/v1/sources/baru/health").json()
    assert health["status"] == "never_crawled"
    assert health["silent"] is False and health["failing"] is False
    assert health["published"] == 0


def test_unknown_source_is_404(client: ApiClient) -> None:
    assert client.get("/v1/sources/nope").status_code == 404
    assert client.get("/v1/sources/nope/health").status_code == 404
    assert client.post("/v1/sources/nope/crawl").status_code == 404
    assert client.patch("/v1/sources/nope", json={"name": "x"}).status_code == 404


def test_duplicate_id_is_409(client: ApiClient) -> None:
    _create(client, id="sama")
    response = client.post("/v1/sources", json={"id": "sama", "type": "rss", "name": "x", "url": "https://a.example/"})
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "gopher", "name": "x", "url": "https://a.example/"}, "type"),
        ({"type": "rss", "name": "x", "url": "ftp://a.example/feed"}, "url"),
        ({"type": "rss", "name": "x", "url": "http://169.254.169.254/latest/meta-data/"}, "url"),
        ({"type": "rss", "name": "x", "url": "http://127.0.0.1:6379/"}, "url"),
        (
            {"type": "listing", "name": "x", "url": "https://a.example/", "include_patterns": ["(unclosed"]},
            "include_patterns",
        ),
        ({"type": "rss", "name": "x", "url": "https://a.example/", "min_interval_s": 1}, "min_interval_s"),
        ({"type": "rss", "name": "x", "url": "https://a.example/", "language": "Indonesia"}, "language"),
        ({"type": "rss", "url": "https://a.example/"}, "name"),
        ({"type": "rss", "name": "x", "url": "https://a.example/", "id": "Bad Id!"}, "id"),
    ],
)
def test_validation_errors_name_the_field(client: ApiClient, body: dict, field: str) -> None:  # type: ignore[type-arg]
    response = client.post("/v1/sources", json=body)
    assert response.status_code == 422, response.text
    assert any(field in [str(p) for p in err["loc"]] or field in err["msg"] for err in response.json()["detail"]), (
        response.json()
    )


def test_allowlisted_local_site_is_accepted(client: ApiClient) -> None:
    _create(client, id="lokal", url="http://127.0.0.1:8101/feed/")


def test_min_above_max_after_patch_is_422(client: ApiClient) -> None:
    _create(client, id="batas", min_interval_s=60, max_interval_s=600)
    response = client.patch("/v1/sources/batas", json={"min_interval_s": 900})
    assert response.status_code == 422
    assert "min_interval_s" in str(response.json())
