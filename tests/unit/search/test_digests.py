"""Digests without the stack: schedule math (periods tile time, the first digest after the
schedule was set, weekly days, a daylight-saving zone), the schedule and channel rules the API
applies, and rendering (escaping, links, both languages)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.search.digests.build import Digest, DigestArticle, DigestStory
from services.search.digests.config import Channels, Schedule, digest_problem
from services.search.digests.render import render
from services.search.digests.schedule import (
    Period,
    digest_key,
    due_period,
    latest_boundary,
    next_boundary,
    period_ending,
)
from services.search.digests.senders import message_id

DAILY = Schedule()  # 07:00 Asia/Jakarta


def test_daily_at_seven_in_jakarta() -> None:
    now = datetime(2026, 5, 4, 1, 0, tzinfo=UTC)  # 08:00 WIB
    assert latest_boundary(DAILY, now) == datetime(2026, 5, 4, 0, 0, tzinfo=UTC)  # 07:00 WIB
    assert period_ending(DAILY, latest_boundary(DAILY, now)).start == datetime(2026, 5, 3, 0, 0, tzinfo=UTC)
    assert next_boundary(DAILY, now) == datetime(2026, 5, 5, 0, 0, tzinfo=UTC)
    # at the boundary itself, that boundary is the latest
    assert latest_boundary(DAILY, datetime(2026, 5, 4, 0, 0, tzinfo=UTC)) == datetime(2026, 5, 4, 0, 0, tzinfo=UTC)
    before = datetime(2026, 5, 3, 23, 59, 59, tzinfo=UTC)  # 06:59:59 WIB
    assert latest_boundary(DAILY, before) == datetime(2026, 5, 3, 0, 0, tzinfo=UTC)


def test_weekly_on_monday_covers_the_week_before() -> None:
    weekly = Schedule(frequency="weekly", time="08:30")
    assert weekly.weekday == "monday"
    now = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)  # a Wednesday
    end = latest_boundary(weekly, now)
    assert end == datetime(2026, 5, 4, 1, 30, tzinfo=UTC)  # Monday 08:30 WIB
    assert period_ending(weekly, end) == Period(end - timedelta(days=7), end)
    friday = Schedule(frequency="weekly", weekday="friday", time="16:00", timezone="asia/makassar")
    assert friday.timezone == "Asia/Makassar"
    assert latest_boundary(friday, now) == datetime(2026, 5, 1, 8, 0, tzinfo=UTC)  # Friday 16:00 WITA


def test_first_digest_is_at_the_first_boundary_after_the_schedule_was_set() -> None:
    set_at = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)  # 10:00 WIB, after today's 07:00
    assert due_period(DAILY, set_at + timedelta(hours=5), set_at) is None
    due = due_period(DAILY, datetime(2026, 5, 5, 0, 0, 30, tzinfo=UTC), set_at)
    assert due == Period(datetime(2026, 5, 4, 0, 0, tzinfo=UTC), datetime(2026, 5, 5, 0, 0, tzinfo=UTC))
    # a scheduler down for three days sends only the latest period
    late = due_period(DAILY, datetime(2026, 5, 8, 2, 0, tzinfo=UTC), set_at)
    assert late is not None and late.end == datetime(2026, 5, 8, 0, 0, tzinfo=UTC)
    assert digest_key("abc", late) == "abc:20260508T0000Z"


@pytest.mark.parametrize(
    "schedule",
    [
        DAILY,
        Schedule(time="02:30", timezone="Europe/Berlin"),
        Schedule(frequency="weekly", weekday="sunday", time="01:30", timezone="America/New_York"),
        Schedule(time="00:00", timezone="Asia/Jayapura"),
    ],
)
def test_periods_tile_time_without_gaps_or_overlaps(schedule: Schedule) -> None:
    # a year in hourly steps: every instant falls in exactly one period, across daylight saving
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ends = set()
    while now < datetime(2027, 1, 1, tzinfo=UTC):
        end = latest_boundary(schedule, now)
        assert end <= now < next_boundary(schedule, now)
        assert next_boundary(schedule, end - timedelta(microseconds=1)) == end
        ends.add(end)
        now += timedelta(hours=1)
    ordered = sorted(ends)
    for a, b in itertools.pairwise(ordered):
        assert period_ending(schedule, b).start == a


def test_schedule_and_channel_rules() -> None:
    with pytest.raises(ValidationError, match="weekday applies to weekly schedules only"):
        Schedule(frequency="daily", weekday="monday")
    with pytest.raises(ValidationError, match="unknown time zone"):
        Schedule(timezone="Asia/Atlantis")
    with pytest.raises(ValidationError, match="pattern"):
        Schedule(time="7:00")
    with pytest.raises(ValidationError, match="not an e-mail address"):
        Channels(email=["humas@blora.go.id", "a@b.c\r\nBcc: x@y.z"])
    with pytest.raises(ValidationError, match="not an e-mail address"):
        Channels(email=["Humas <humas@blora.go.id>"])
    with pytest.raises(ValidationError):
        Channels(chat_webhook_url="ftp://chat.example/hook")
    assert Channels(email=["A@x.id", "a@x.id", " b@x.id "]).email == ["A@x.id", "b@x.id"]
    assert digest_problem(DAILY.model_dump(), None) is not None
    assert digest_problem(DAILY.model_dump(), {"email": [], "chat_webhook_url": None}) is not None
    assert digest_problem(DAILY.model_dump(), {"email": ["a@x.id"]}) is None
    assert digest_problem(None, None) is None


def _digest(language: str = "id") -> Digest:
    published = datetime(2026, 5, 3, 2, 0, tzinfo=UTC)
    evil = DigestArticle("a1", "Banjir <script>alert(1)</script> & tanggul", "https://suarablora.example/a1",
                         "suarablora.example", "Suara Blora", published, "Ringkasan banjir.", "negative")  # fmt: skip
    copy = DigestArticle("a2", "Banjir di Blora", "https://kabarjateng.example/a2", "kabarjateng.example", None,
                         published + timedelta(hours=1), None, "neutral")  # fmt: skip
    other = DigestArticle("a3", "Festival Samin", "https://suarablora.example/a3", "suarablora.example",
                          "Suara Blora", published, None, None)  # fmt: skip
    schedule = Schedule(language=language)  # type: ignore[arg-type]
    end = datetime(2026, 5, 4, 0, 0, tzinfo=UTC)
    return Digest(key="m1:20260504T0000Z", saved_search={"id": "m1", "name": "Pemkab Blora", "query": "Blora"},
                  schedule=schedule, period=period_ending(schedule, end),
                  stories=[DigestStory("s1", [evil, copy]), DigestStory("a3", [other])], matches=3,
                  public_url="https://warta.example")  # fmt: skip


def test_render_escapes_and_links() -> None:
    r = render(_digest())
    assert r.subject == "[Warta] Pemkab Blora: 3 artikel, 2 cerita · 4 Mei 2026"
    assert "<script>" not in r.html and "&lt;script&gt;" in r.html
    assert 'href="https://suarablora.example/a1"' in r.html and 'href="https://warta.example/article/a1"' in r.html
    assert "Dimuat 2 media: Suara Blora, kabarjateng.example" in r.html
    assert "Nada: 0 positif, 1 netral, 1 negatif" in r.text
    assert "Minggu, 3 Mei 2026 07.00 WIB – Senin, 4 Mei 2026 07.00 WIB" in r.text
    assert "https://suarablora.example/a3" in r.text and "https://warta.example/article/a3" in r.text
    assert "Lihat kecocokan monitor ini di Warta: https://warta.example/monitors?monitor=m1" in r.text
    assert "/search?" not in r.text + r.html + r.chat  # not a search of the period by publication date
    assert "<https://warta.example/monitors?monitor=m1|Lihat kecocokan monitor ini di Warta>" in r.chat
    # Slack mrkdwn: the link syntax, and the reserved characters escaped in the text
    assert "<https://suarablora.example/a1|Banjir &lt;script&gt;alert(1)&lt;/script&gt; &amp; tanggul>" in r.chat
    en = render(_digest("en"))
    assert en.subject == "[Warta] Pemkab Blora: 3 articles, 2 stories · 4 May 2026" and 'lang="en"' in en.html


def test_message_id_is_stable_per_digest() -> None:
    a = message_id("m1:20260504T0000Z", "Warta <digest@humas.example>")
    assert a == message_id("m1:20260504T0000Z", "digest@humas.example") and a.endswith("@humas.example>")
    assert a != message_id("m1:20260505T0000Z", "digest@humas.example")
