"""Press-release pickups ("bukti tayang", issue 18): which outlets carried a release, how fast and
how much of it they kept, and a scorecard per partner outlet.

- :mod:`.matching`: pure comparison of a release with an article (shingle containment, title
  change, the lead's diff) and the candidate query.
- :mod:`.service`: the stored releases (``<prefix>warta-pickups``) and their pickups, computed
  from the article index on every read; the per-outlet scorecard.
- :mod:`.export`: the CSV and the PDF proof sheet.
- :mod:`.models`: the API's request and response models.

Documented in docs/pr-workflows.md ("Press-release pickup").
"""

from services.search.pickups.matching import DEFAULT_SETTINGS, PickupSettings, ReleaseText, pickup_of, score
from services.search.pickups.service import (
    PickupInputError,
    Pickups,
    TrackedRelease,
    ensure_pickup_index,
    pickups_index,
    scorecard,
)

__all__ = [
    "DEFAULT_SETTINGS",
    "PickupInputError",
    "PickupSettings",
    "Pickups",
    "ReleaseText",
    "TrackedRelease",
    "ensure_pickup_index",
    "pickup_of",
    "pickups_index",
    "score",
    "scorecard",
]
