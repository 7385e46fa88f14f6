"""The /v1/sources router on a bare app with the registry dependency overridden (a registry in the
real Elasticsearch under the test's own index prefix)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.ingest.crawler.registry import SourceRegistry
from services.ingest.settings import IngestSettings
from services.ingest.sources_api import get_registry, get_settings, sources_router

pytestmark = pytest.mark.elasticsearch


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
def client(registry: SourceRegistry) -> Iterator[ApiClient]:
    settings = IngestSettings(crawl_allow_hosts=["127.0.0.1:8101"])
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
    # These hosts do not exist: the URL check is skipped, as for a site that is down for now.
    response = client.post("/v1/sources", json=body, params={"check": "false"})
    assert response.status_code == 201, response.text
    assert response.json()["check"] is None
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
    assert health["status"] == "pending"
    assert health["reason"] == {"code": "not_crawled_yet", "message": "Waiting for the first crawl."}
    assert health["articles_per_day"] == 0 and [d["articles"] for d in health["articles_by_day"]] == [0] * 7
    assert health["silent"] is False and health["failing"] is False
    assert health["published"] == 0


def test_unknown_source_is_404(client: ApiClient) -> None:
    assert client.get("/v1/sources/nope").status_code == 404
    assert client.get("/v1/sources/nope/health").status_code == 404
    assert client.post("/v1/sources/nope/crawl").status_code == 404
    assert client.patch("/v1/sources/nope", json={"name": "x"}).status_code == 404


def test_duplicate_id_is_409(client: ApiClient) -> None:
    _create(client, id="sama")
    response = client.post(
        "/v1/sources",
        json={"id": "sama", "type": "rss", "name": "x", "url": "https://a.example/"},
        params={"check": False},
    )
    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "duplicate_id"


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


@pytest.mark.parametrize(
    "variant",
    [
        "https://lintasmuria.example/feed/",
        "https://lintasmuria.example/feed",  # no trailing slash
        "http://lintasmuria.example/feed/",  # http instead of https
        "https://lintasmuria.example/feed/?utm_source=twitter&utm_medium=social",  # tracking parameters
        "https://WWW.LintasMuria.example/feed/#top",  # www., case, fragment
    ],
)
def test_a_second_source_on_the_same_url_is_409_naming_the_first(client: ApiClient, variant: str) -> None:
    _create(client, id="pertama")
    # The duplicate is refused before any check (the check would need the network).
    response = client.post("/v1/sources", json={"type": "sitemap", "name": "Kedua", "url": variant})
    assert response.status_code == 409, response.text
    body = response.json()["detail"]
    assert body["code"] == "duplicate_url"
    assert body["existing"]["id"] == "pertama"
    assert "'pertama'" in body["error"]
    assert [s["id"] for s in client.get("/v1/sources").json()["sources"]] == ["pertama"]


def test_a_disabled_source_still_holds_its_url(client: ApiClient) -> None:
    _create(client, id="lama")
    client.post("/v1/sources/lama/disable")
    response = client.post(
        "/v1/sources",
        json={"type": "rss", "name": "Baru", "url": "https://lintasmuria.example/feed"},
        params={"check": False},
    )
    assert response.status_code == 409
    assert "enable it instead" in response.json()["detail"]["error"]


def test_patching_a_url_onto_another_sources_url_is_409(client: ApiClient) -> None:
    _create(client, id="satu")
    _create(client, id="dua", url="https://kabarserayu.example/sitemap.xml")
    response = client.patch("/v1/sources/dua", json={"url": "http://lintasmuria.example/feed?utm_campaign=x"})
    assert response.status_code == 409
    assert response.json()["detail"]["existing"]["id"] == "satu"
    # Its own URL, written differently, is no conflict.
    assert client.patch("/v1/sources/satu", json={"url": "https://lintasmuria.example/feed"}).status_code == 200
