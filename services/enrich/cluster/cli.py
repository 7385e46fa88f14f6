"""``warta nlp cluster``: cluster a JSON-lines stream of articles with in-memory state.

Same code and settings (``WARTA_CLUSTER_*``) as the workers; only the store differs. Time is
replayed: "now" is the latest ``published_at`` seen so far, so the window applies to archives as
it would have live. Articles without ``published_at`` take the current replay time (wall-clock
time until a ``published_at`` has been seen).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import IO

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.enrich.cluster.clusterer import StoryClusterer
from services.enrich.cluster.settings import ClusterSettings
from services.enrich.cluster.store import MemoryClusterStore


class ClusterInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    title: str = ""
    text: str
    published_at: datetime | None = None


class ReplayClock:
    """Returns the latest event time observed, or wall-clock time before the first one."""

    def __init__(self) -> None:
        self._latest: float | None = None

    def observe(self, moment: datetime | None) -> None:
        if moment is not None:
            timestamp = moment.timestamp()
            if self._latest is None or timestamp > self._latest:
                self._latest = timestamp

    def __call__(self) -> float:
        return self._latest if self._latest is not None else time.time()


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # naive timestamps are taken as UTC
    return moment


def cluster_main(stdin: IO[str], stdout: IO[str], settings: ClusterSettings | None = None) -> int:
    """Read ``{"id", "title", "text", "published_at"?}`` lines in arrival order and write one
    ``{"id", "story_id"}`` line per input line, flushed as it goes (usable in a pipe).

    A line that is not a valid article yields ``{"line", "error"}`` (plus ``"id"`` when
    readable) and processing continues. Blank lines are skipped. Returns 0 if every line was
    valid, 1 otherwise.
    """
    settings = settings or ClusterSettings()
    clock = ReplayClock()
    clusterer = StoryClusterer(settings, MemoryClusterStore(settings), clock=clock)
    status = 0
    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        try:
            article = ClusterInput.model_validate_json(line)
        except ValidationError as error:
            status = 1
            failure: dict[str, object] = {"line": number, "error": _describe(error)}
            try:
                raw = json.loads(line)
                if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                    failure["id"] = raw["id"]
            except ValueError:
                pass
            stdout.write(json.dumps(failure, ensure_ascii=False) + "\n")
            stdout.flush()
            continue
        published_at = _aware(article.published_at)
        clock.observe(published_at)
        assignment = clusterer.assign(article.id, article.title, article.text, published_at)
        stdout.write(json.dumps({"id": article.id, "story_id": assignment.story_id}) + "\n")
        stdout.flush()
    return status


def _describe(error: ValidationError) -> str:
    problems = error.errors(include_url=False)
    if problems and problems[0]["type"] == "json_invalid":
        return "invalid JSON"
    return "; ".join(f"{'.'.join(str(part) for part in p['loc']) or 'line'}: {p['msg']}" for p in problems)
