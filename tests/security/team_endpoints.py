"""Every team-owned resource of the search API and its endpoints, in one list (:data:`TEAM_RESOURCES`).

``tests/security/test_teams.py`` draws random teams, keys (reader, analyst, admin) and operations
on these resources and checks, for every endpoint listed here, that no key sees or changes another
team's resources (404, like a missing one), that a reader writing gets 403, and that no answer
carries the id or the ``team`` of a resource the key may not see.

To put a new team-owned resource under that test, append a :class:`TeamResource` to
:data:`TEAM_RESOURCES` (docs/pr-workflows.md, "Teams and roles"). It needs:

- ``create_path`` and ``create_body``: a POST an analyst or admin key makes (a reader must get
  403) that answers 201 with the new resource (``id_field``; ``team`` too if it has one);
- ``get_path``: a GET by id that an admin key uses to take a snapshot (a denied write must leave it
  as it was, apart from the ``volatile`` fields);
- ``list_path`` (optional): a GET answering the key's resources of this kind (a JSON list, or an
  object whose ``list_key`` holds the list), each with ``id_field``;
- ``ops``: every other operation on one resource (``{id}`` in the path), each saying whether it
  writes (analyst and admin only), its body and its status when allowed;
- ``seed`` (optional): writes the documents that hang off a new resource (matches, deliveries...)
  straight into Elasticsearch, as the background process that makes them would, so reads of them
  are tested too. Put the resource's id in each seeded id: the leak check then covers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch


@dataclass(frozen=True)
class Op:
    """One operation on an existing resource: ``path`` with ``{id}``; ``write`` needs the analyst
    role; ``ok`` is the status when allowed; ``deletes``: the resource is gone after it."""

    name: str
    method: str
    path: str
    write: bool
    body: Callable[[str], Any] | None = None  # token -> JSON body
    ok: int = 200
    deletes: bool = False
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TeamResource:
    kind: str
    create_path: str
    create_body: Callable[[str], dict[str, Any]]  # token -> JSON body (without a team)
    get_path: str
    ops: tuple[Op, ...]
    list_path: str | None = None
    list_key: str | None = None
    # Query parameters of the list call: the largest page, so a list holds everything created.
    list_params: dict[str, Any] | None = None
    id_field: str = "id"
    # The body field in which an admin key may name the owning team (None: the creator's team only).
    team_field: str | None = None
    volatile: frozenset[str] = frozenset()
    # (Elasticsearch, index prefix, the created resource as answered) -> None
    seed: Callable[[Elasticsearch, str, dict[str, Any]], None] | None = None


def _seed_monitor(es: Elasticsearch, prefix: str, monitor: dict[str, Any]) -> None:
    """One match and one delivery for ``monitor``, as the alerts consumer writes them."""
    saved_id, team = monitor["id"], monitor["team"]
    at = datetime.now(UTC).isoformat()
    article = f"art{saved_id}"
    es.index(index=f"{prefix}warta-alert-matches", id=f"{saved_id}:{article}", refresh=True, document={
        "saved_search_id": saved_id, "team": team, "article_id": article, "matched_at": at, "published_at": at,
        "title": f"Berita {saved_id}", "url": f"https://suarablora.example/{saved_id}", "source": "suarablora.example",
    })  # fmt: skip
    es.index(index=f"{prefix}warta-webhook-deliveries", id=f"del{saved_id}", refresh=True, document={
        "id": f"del{saved_id}", "saved_search_id": saved_id, "team": team, "article_ids": [article],
        "status": "delivered", "attempts": 1, "created_at": at, "delivered_at": at, "log": [],
    })  # fmt: skip


MONITORS = TeamResource(
    kind="monitor",
    create_path="/v1/saved-searches",
    create_body=lambda token: {"name": f"Monitor {token}", "query": f"{token} AND banjir"},
    get_path="/v1/saved-searches/{id}",
    list_path="/v1/saved-searches",
    team_field="team",
    seed=_seed_monitor,
    ops=(
        Op("read", "GET", "/v1/saved-searches/{id}", write=False),
        Op("matches", "GET", "/v1/saved-searches/{id}/matches", write=False),
        Op("deliveries", "GET", "/v1/saved-searches/{id}/deliveries", write=False),
        Op("digests", "GET", "/v1/saved-searches/{id}/digests", write=False),
        Op("rename", "PATCH", "/v1/saved-searches/{id}", write=True, body=lambda token: {"name": f"Diubah {token}"}),
        Op("pause", "PATCH", "/v1/saved-searches/{id}", write=True, body=lambda token: {"enabled": False}),
        Op(
            "requery",
            "PATCH",
            "/v1/saved-searches/{id}",
            write=True,
            body=lambda token: {"query": f"{token} AND pasar"},
        ),
        Op("delete", "DELETE", "/v1/saved-searches/{id}", write=True, ok=204, deletes=True),
    ),
)

PICKUPS = TeamResource(
    kind="pickup",
    create_path="/v1/pickups",
    create_body=lambda token: {
        "title": f"Siaran pers {token}",
        "text": f"Pemerintah Kabupaten Blora menyalurkan bantuan {token} kepada ribuan petani di enam belas "
        "kecamatan untuk mempercepat masa tanam kedua, kata bupati kepada wartawan di pendopo kabupaten.",
    },
    get_path="/v1/pickups/{id}",
    list_path="/v1/pickups",
    list_params={"size": 200},
    ops=(
        Op("read", "GET", "/v1/pickups/{id}", write=False),
        Op("export", "GET", "/v1/pickups/{id}/export", write=False, params={"format": "csv"}),
        Op("delete", "DELETE", "/v1/pickups/{id}", write=True, ok=204, deletes=True),
    ),
)

# The list: add a TeamResource for each new team-owned resource (reports, digests, pickups...).
TEAM_RESOURCES: list[TeamResource] = [MONITORS, PICKUPS]
