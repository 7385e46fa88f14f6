"""Teams and roles (issue 18, part 5) against the real search API and Elasticsearch.

- A property test: for random teams, keys (reader, analyst, admin of random teams) and random
  operations on every team-owned endpoint (``tests/security/team_endpoints.py``), no key sees or
  changes another team's resources (404, like a missing id), a reader writing gets 403, a denied
  write changes nothing, no answer carries the id or the team of a resource the key may not see,
  and every list holds exactly the key's team's resources (every team's for an admin).
- Monitors, matches and deliveries stored before teams existed belong to the team ``default``.
- With the whole pipeline, the alerts consumer writes a monitor's team onto its matches and
  deliveries, which only that team (and admins) can read.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.auth import DEFAULT_TEAM, hash_key
from tests.pipeline import ES_URL, Pipeline, wait_for
from tests.security.team_endpoints import TEAM_RESOURCES, Op, TeamResource
from tests.webhooks import Receiver

pytestmark = [pytest.mark.e2e]

ROLES = ("reader", "analyst", "admin")
# Team names as an admin may give them (shared.auth.TEAM_PATTERN), short so they repeat sometimes.
TEAM_NAMES = st.one_of(st.just(DEFAULT_TEAM), st.from_regex(r"[a-z0-9][a-z0-9_-]{0,11}", fullmatch=True))


@dataclass(frozen=True)
class Key:
    token: str
    role: str
    team: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def sees(self, team: str) -> bool:
        return self.role == "admin" or team == self.team


@dataclass
class Owned:
    resource: TeamResource
    id: str
    team: str
    alive: bool = True


def _teams_in(value: Any) -> Iterator[str]:
    """Every ``team`` value anywhere in a JSON document."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "team" and isinstance(v, str):
                yield v
            else:
                yield from _teams_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from _teams_in(v)


class World:
    """The search API of one namespace, the keys made so far (by team and role) and a model of
    every team-owned resource created, with its team and whether it still exists."""

    def __init__(self, p: Pipeline) -> None:
        self.p = p
        self.es = Elasticsearch(ES_URL)
        self.http = httpx.Client(base_url=p.search_url, timeout=30)
        self.admin = Key(p.ns.admin_key, "admin", DEFAULT_TEAM)
        self.keys: dict[tuple[str, str], Key] = {(DEFAULT_TEAM, "admin"): self.admin}
        self.owned: list[Owned] = []
        self.requests = 0

    def close(self) -> None:
        self.http.close()
        self.es.close()

    # --- keys -----------------------------------------------------------------------------------

    def _make_key(self, team: str, role: str) -> Key:
        r = httpx.post(f"{self.p.search_url}/v1/keys", headers=self.admin.headers, timeout=30,
                       json={"name": f"{role} {team}", "role": role, "team": team})  # fmt: skip
        assert r.status_code == 201, r.text
        made = r.json()
        assert (made["role"], made["team"]) == (role, team), made
        me = httpx.get(f"{self.p.search_url}/v1/keys/me", headers={"Authorization": f"Bearer {made['key']}"})
        assert me.status_code == 200 and (me.json()["role"], me.json()["team"]) == (role, team), me.text
        return Key(made["key"], role, team)

    def ensure_keys(self, pairs: list[tuple[str, str]]) -> list[Key]:
        missing = [pair for pair in dict.fromkeys(pairs) if pair not in self.keys]
        with ThreadPoolExecutor(max_workers=4) as pool:
            for pair, key in zip(missing, pool.map(lambda tr: self._make_key(*tr), missing), strict=True):
                self.keys[pair] = key
        return [self.keys[pair] for pair in pairs]

    # --- requests -------------------------------------------------------------------------------

    def call(
        self, key: Key, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        """One request, and the leak check on its answer."""
        r = self.http.request(method, path, json=body, params=params, headers=key.headers)
        self.requests += 1
        assert r.status_code < 500, (method, path, r.status_code, r.text)
        asked = path + json.dumps(body)
        hidden = [o.id for o in self.owned if not key.sees(o.team) and o.id not in asked]
        leaked = [i for i in hidden if i in r.text]
        assert not leaked, f"{key.role}@{key.team} {method} {path} got the ids {leaked} of other teams: {r.text[:500]}"
        if r.content and r.headers.get("content-type", "").startswith("application/json"):
            foreign = {t for t in _teams_in(r.json()) if not key.sees(t)}
            assert not foreign, f"{key.role}@{key.team} {method} {path} got resources of the teams {foreign}"
        return r

    def snapshot(self, owned: Owned) -> dict[str, Any] | None:
        r = self.call(self.admin, "GET", owned.resource.get_path.format(id=owned.id))
        if r.status_code == 404:
            return None
        assert r.status_code == 200, r.text
        return {k: v for k, v in r.json().items() if k not in owned.resource.volatile}

    # --- the operations -------------------------------------------------------------------------

    def create(self, key: Key, resource: TeamResource, team_in_body: str | None, token: str) -> None:
        body = resource.create_body(token)
        if team_in_body is not None and resource.team_field:
            body[resource.team_field] = team_in_body
        else:
            team_in_body = None
        r = self.call(key, "POST", resource.create_path, body)
        owner = team_in_body or key.team
        if key.role == "reader" or not key.sees(owner):
            assert r.status_code == 403, (key, resource.kind, team_in_body, r.status_code, r.text)
            return
        assert r.status_code == 201, (key, resource.kind, team_in_body, r.text)
        made = r.json()
        if "team" in made:
            assert made["team"] == owner, (key, made)
        owned = Owned(resource, str(made[resource.id_field]), owner)
        self.owned.append(owned)
        if resource.seed is not None:
            resource.seed(self.es, self.p.ns.prefix, made)

    def operate(self, key: Key, op: Op, target: Owned | None, missing_id: str, token: str) -> None:
        resource_id = target.id if target is not None else missing_id
        before = self.snapshot(target) if op.write and target is not None and target.alive else None
        body = op.body(token) if op.body is not None else None
        r = self.call(key, op.method, op.path.format(id=resource_id), body, op.params or None)
        if op.write and key.role == "reader":
            expected = 403
        elif target is None or not target.alive or not key.sees(target.team):
            expected = 404
        else:
            expected = op.ok
        who = f"{key.role}@{key.team} {op.name} on {target.team if target else 'nothing'}'s {resource_id}"
        assert r.status_code == expected, f"{who}: {r.status_code} {r.text[:300]}"
        if target is None:
            return
        if expected != op.ok and before is not None:
            assert self.snapshot(target) == before, f"{who} was refused but changed the resource"
        if expected == op.ok:
            if op.deletes:
                target.alive = False
                assert self.snapshot(target) is None, f"{who}: still there after the delete"
            elif (
                r.headers.get("content-type", "").startswith("application/json")  # an export answers CSV
                and isinstance(r.json(), dict)
                and "team" in r.json()
            ):
                assert r.json()["team"] == target.team, f"{who}: the team changed"

    def check_lists(self, keys: list[Key]) -> None:
        for resource in TEAM_RESOURCES:
            if resource.list_path is None:
                continue
            for key in dict.fromkeys(keys):
                r = self.call(key, "GET", resource.list_path, params=resource.list_params)
                assert r.status_code == 200, r.text
                items = r.json()[resource.list_key] if resource.list_key else r.json()
                got = {str(item[resource.id_field]) for item in items}
                want = {o.id for o in self.owned if o.resource is resource and o.alive and key.sees(o.team)}
                assert got == want, f"{key.role}@{key.team} lists {resource.kind}s {got ^ want} wrongly"


@pytest.fixture
def world(pipeline_factory) -> Iterator[World]:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory(extra_env={"WARTA_RATE_LIMIT_PER_MINUTE": "1000000"}, start=False)
    p.start(["search-api"])
    w = World(p)
    try:
        yield w
    finally:
        w.close()


OPS = [(resource, op) for resource in TEAM_RESOURCES for op in resource.ops]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(data=st.data())
def test_no_endpoint_lets_a_team_see_or_change_another_teams_resources(world: World, data: st.DataObject) -> None:
    teams = data.draw(st.lists(TEAM_NAMES, min_size=2, max_size=3, unique=True), label="teams")
    pairs = [(team, role) for team in teams for role in ("reader", "analyst")]
    pairs.append((data.draw(st.sampled_from(teams), label="admin's team"), "admin"))
    keys = [*world.ensure_keys(pairs), world.admin]
    # Every team owns something of every kind, so each step has another team's resource to try.
    for team in teams:
        for resource in TEAM_RESOURCES:
            if not any(o.resource is resource and o.alive and o.team == team for o in world.owned):
                world.create(world.keys[(team, "analyst")], resource, None, uuid.uuid4().hex[:8])
    steps = data.draw(st.integers(min_value=4, max_value=12), label="steps")
    for _ in range(steps):
        key = data.draw(st.sampled_from(keys), label="key")
        token = uuid.uuid4().hex[:8]
        if data.draw(st.integers(0, 5), label="create?") == 0:
            resource = data.draw(st.sampled_from(TEAM_RESOURCES), label="resource")
            named = data.draw(st.none() | st.sampled_from(teams), label="team in the body")
            world.create(key, resource, named, token)
            continue
        resource, op = data.draw(st.sampled_from(OPS), label="operation")
        # By position among the resources of its kind (the draw must not depend on how many exist).
        candidates = [o for o in world.owned if o.resource is resource]
        pick = data.draw(st.none() | st.integers(0, 10_000), label="target")
        target = None if pick is None else candidates[pick % len(candidates)]
        world.operate(key, op, target, f"nope{token}", token)
    world.check_lists(keys)


def test_resources_from_before_teams_belong_to_the_default_team(world: World) -> None:
    """A monitor, match and delivery stored without ``team`` (made before teams existed) are the
    default team's: its reader lists and reads them, another team's analyst gets 404."""
    prefix, saved_id, at = world.p.ns.prefix, f"legacy{uuid.uuid4().hex[:10]}", datetime.now(UTC).isoformat()
    world.es.index(index=f"{prefix}warta-saved-searches", id=saved_id, refresh=True, document={
        "id": saved_id, "name": "Lama", "query": "banjir", "webhook_url": None, "enabled": True,
        "created_at": at, "updated_at": at})  # fmt: skip
    world.es.index(index=f"{prefix}warta-alert-matches", id=f"{saved_id}:a1", refresh=True, document={
        "saved_search_id": saved_id, "article_id": "a1", "matched_at": at})  # fmt: skip
    default_reader, other = world.ensure_keys([(DEFAULT_TEAM, "reader"), ("humas-blora", "analyst")])
    listed = world.call(default_reader, "GET", "/v1/saved-searches").json()
    assert [(m["id"], m["team"]) for m in listed] == [(saved_id, DEFAULT_TEAM)]
    assert world.call(default_reader, "GET", f"/v1/saved-searches/{saved_id}").json()["team"] == DEFAULT_TEAM
    matches = world.call(default_reader, "GET", f"/v1/saved-searches/{saved_id}/matches").json()
    assert [(m["article_id"], m["team"]) for m in matches] == [("a1", DEFAULT_TEAM)]
    assert world.call(other, "GET", "/v1/saved-searches").json() == []
    for method, path in (("GET", ""), ("GET", "/matches"), ("GET", "/deliveries"), ("DELETE", "")):
        assert world.call(other, method, f"/v1/saved-searches/{saved_id}{path}").status_code == 404
    assert world.call(default_reader, "DELETE", f"/v1/saved-searches/{saved_id}").status_code == 403
    renamed = world.call(world.admin, "PATCH", f"/v1/saved-searches/{saved_id}", {"name": "Baru", "team": "x"})
    assert renamed.status_code == 200 and renamed.json()["team"] == DEFAULT_TEAM, "the team never changes"
    # A key made before teams (no team in its document) is the default team's.
    legacy_key = "wk_legacy_" + uuid.uuid4().hex
    world.es.index(index=f"{prefix}warta-api-keys", id=hash_key(legacy_key), refresh=True, document={
        "name": "lama", "role": "reader", "created_at": at, "disabled": False, "prefix": legacy_key[:7]})  # fmt: skip
    legacy = Key(legacy_key, "reader", DEFAULT_TEAM)
    assert world.call(legacy, "GET", "/v1/keys/me").json()["team"] == DEFAULT_TEAM
    assert [m["id"] for m in world.call(legacy, "GET", "/v1/saved-searches").json()] == [saved_id]
    keys = world.call(world.admin, "GET", "/v1/keys").json()
    assert {k["name"]: k["team"] for k in keys}["lama"] == DEFAULT_TEAM


def test_key_creation_refuses_a_bad_team_or_role(world: World) -> None:
    for body in ({"name": "x", "role": "reader", "team": "Humas Blora"}, {"name": "x", "role": "reader", "team": ""},
                 {"name": "x", "role": "owner"}, {"name": "x", "role": "reader", "team": "a" * 64}):  # fmt: skip
        r = world.call(world.admin, "POST", "/v1/keys", body)
        assert r.status_code == 422, (body, r.text)
    analyst = world.ensure_keys([("humas", "analyst")])[0]
    assert world.call(analyst, "POST", "/v1/keys", {"name": "x", "role": "admin"}).status_code == 403
    assert world.call(analyst, "GET", "/v1/keys").status_code == 403


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_the_alerts_consumer_writes_the_monitors_team_on_matches_and_deliveries(  # type: ignore[no-untyped-def]
    pipeline_factory, receiver: Receiver
) -> None:
    p: Pipeline = pipeline_factory(extra_env={"WARTA_WEBHOOK_ALLOW_HOSTS": f"127.0.0.1:{receiver.port}"})
    w = World(p)
    try:
        token = f"tim{uuid.uuid4().hex[:8]}"
        analyst, reader, stranger = w.ensure_keys([("humas-blora", "analyst"), ("humas-blora", "reader"),
                                                   ("dinkes", "analyst")])  # fmt: skip
        made = w.call(analyst, "POST", "/v1/saved-searches", {"name": "Banjir", "query": f"{token} AND banjir",
                                                               "webhook_url": receiver.url})  # fmt: skip
        assert made.status_code == 201 and made.json()["team"] == "humas-blora", made.text
        saved_id = made.json()["id"]
        w.owned.append(Owned(TEAM_RESOURCES[0], saved_id, "humas-blora"))
        article: dict[str, object] = {"url": f"https://suarablora.example/berita/{token}", "title": f"Banjir di Blora {token}",
                   "text": f"BLORA – Berita {token} tentang banjir di Kabupaten Blora, Jawa Tengah. " * 3,
                   "published_at": "2025-05-01T08:00:00+07:00", "source": "suarablora.example"}  # fmt: skip
        article_id = p.post(article).json()["id"]
        matches = wait_for(lambda: w.call(reader, "GET", f"/v1/saved-searches/{saved_id}/matches").json(), 90,
                           message="the match")  # fmt: skip
        assert [(m["article_id"], m["team"]) for m in matches] == [(article_id, "humas-blora")]
        deliveries = wait_for(lambda: w.call(reader, "GET", f"/v1/saved-searches/{saved_id}/deliveries").json(), 30,
                              message="the delivery")  # fmt: skip
        assert deliveries[0]["team"] == "humas-blora" and deliveries[0]["article_ids"] == [article_id]
        # Stored with the team, not only answered with it.
        stored = w.es.search(index=f"{p.ns.prefix}warta-alert-matches", query={"term": {"team": "humas-blora"}})
        assert [h["_source"]["article_id"] for h in stored["hits"]["hits"]] == [article_id]
        stored = w.es.search(index=f"{p.ns.prefix}warta-webhook-deliveries", query={"term": {"team": "humas-blora"}})
        assert len(stored["hits"]["hits"]) == 1
        for path in ("", "/matches", "/deliveries"):
            assert w.call(stranger, "GET", f"/v1/saved-searches/{saved_id}{path}").status_code == 404
        assert w.call(stranger, "GET", "/v1/saved-searches").json() == []
    finally:
        w.close()
