"""The one classification of undecodable records, and the reasons a DLQ record may give.

Every consumer (the runtime's decoding, the enrich task) classifies a :class:`MessageError` with
:func:`dlq_reason`, so the same bad record gets the same reason whichever hop meets it.
"""

from __future__ import annotations

from typing import Literal

from shared.schemas import MessageError, UnknownSchemaVersion

# The values DlqRecord.reason accepts (a unit test keeps the two in step):
# - invalid / unknown_schema: the record can never be decoded (never retried);
# - failed: processing kept failing after bounded retries;
# - rejected: the sink refused the record itself (e.g. an Elasticsearch mapping error).
DlqReason = Literal["invalid", "unknown_schema", "failed", "rejected"]


def dlq_reason(exc: MessageError) -> Literal["invalid", "unknown_schema"]:
    """The DLQ reason for a record :func:`shared.schemas.decode` refused. Pure; never raises."""
    return "unknown_schema" if isinstance(exc, UnknownSchemaVersion) else "invalid"
