"""What a monitor's digest is: its :class:`Schedule` (when) and :class:`Channels` (where), as the
API accepts them and the saved search stores them (``schedule``, ``channels``). Pure."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.search.criteria import time_zone

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# A pragmatic address check: one @, no spaces, quotes, angle brackets, commas or semicolons (so no
# header injection and no second address smuggled in), a dot in the domain. The SMTP server has
# the last word; a refused recipient is recorded in the delivery.
EMAIL_RE = re.compile(r"^[^@\s<>,;:\"()\[\]\\]+@[^@\s<>,;:\"()\[\]\\]+\.[^@\s<>,;:\"()\[\]\\.][^@\s<>,;:\"()\[\]\\]*$")
MAX_RECIPIENTS = 20


class Schedule(BaseModel):
    """When a monitor's digest goes out: every day, or every week on ``weekday``, at ``time``
    (24-hour HH:MM) in the IANA zone ``timezone``. A digest covers the matches recorded since the
    previous one: the period that ends at that time."""

    model_config = ConfigDict(extra="forbid")

    frequency: Literal["daily", "weekly"] = Field("daily", description="daily, or weekly on `weekday`")
    time: str = Field(
        "07:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Local time of day, 24-hour HH:MM"
    )
    timezone: str = Field(
        "Asia/Jakarta", max_length=64, description="IANA time zone of `time` (Asia/Jakarta: WIB, Asia/Makassar: WITA)"
    )
    weekday: Weekday | None = Field(
        None, description="Day of a weekly digest (default monday); must be null for a daily one"
    )
    language: Literal["id", "en"] = Field("id", description="Language of the digest: id (Indonesian) or en")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return str(time_zone(value).key)  # ValueError -> 422 naming the field

    @model_validator(mode="after")
    def _weekday_for_weekly(self) -> Schedule:
        if self.frequency == "daily" and self.weekday is not None:
            raise ValueError("weekday applies to weekly schedules only: leave it out, or set frequency to weekly")
        if self.frequency == "weekly" and self.weekday is None:
            self.weekday = "monday"
        return self

    @property
    def hour_minute(self) -> tuple[int, int]:
        hour, minute = self.time.split(":")
        return int(hour), int(minute)


class Channels(BaseModel):
    """Where a monitor's digest goes: e-mail recipients (through the deployment's SMTP server)
    and a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat)."""

    model_config = ConfigDict(extra="forbid")

    email: list[str] = Field(
        default_factory=list,
        max_length=MAX_RECIPIENTS,
        description=f"Recipient addresses (at most {MAX_RECIPIENTS}); one message to all of them",
    )
    chat_webhook_url: str | None = Field(
        None,
        max_length=2048,
        pattern=r"^https?://",
        description="A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat). Checked like the alert "
        "webhook: public addresses only unless its host:port is in WARTA_WEBHOOK_ALLOW_HOSTS, no credentials in the "
        "URL; a refused URL is a 422 naming the reason",
    )

    @field_validator("email")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        out: list[str] = []
        for raw in values:
            address = raw.strip()
            if len(address) > 254 or not EMAIL_RE.match(address):
                raise ValueError(
                    f"not an e-mail address: {raw[:80]!r} (write one plain address per entry, name@domain)"
                )
            if address.lower() not in {a.lower() for a in out}:
                out.append(address)
        return out

    @property
    def empty(self) -> bool:
        return not self.email and not self.chat_webhook_url

    def names(self) -> list[str]:
        """The channels in the order they are sent."""
        return [name for name, on in (("email", bool(self.email)), ("chat", bool(self.chat_webhook_url))) if on]


NO_CHANNEL = "a schedule needs a channel: give channels.email (addresses) or channels.chat_webhook_url"


def digest_problem(schedule: dict[str, Any] | None, channels: dict[str, Any] | None) -> str | None:
    """Why a monitor's stored ``schedule`` and ``channels`` cannot make a digest (a schedule with
    no channel), or None."""
    if schedule is None:
        return None
    if channels is None or Channels.model_validate(channels).empty:
        return NO_CHANNEL
    return None
