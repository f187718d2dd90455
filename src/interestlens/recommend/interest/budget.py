"""How many validation users the blend search can afford on a large catalogue.

The search holds, for every validation carve, each component's scores for every validation
user and every item (float32), standardised and then stacked: about three copies of
``repeats × components × users × items`` values. At 2,000 users, 7 components and 3 carves
that is 5 GB for 10k items and 50 GB for 100k, so the number of users shrinks with the
catalogue to keep the scores within :data:`VALIDATION_SCORE_BYTES` (never below
:data:`MIN_VALIDATION_USERS`).
"""

from __future__ import annotations

#: memory the validation scores of one regime's search may take
VALIDATION_SCORE_BYTES = 4 * 1024**3
#: fewer validation users than this make the chosen weights noise
MIN_VALIDATION_USERS = 200
#: float32 scores held about three times (raw, standardised, stacked)
_COPIES = 3


def validation_users(
    n_items: int,
    n_components: int,
    repeats: int,
    max_users: int,
    budget_bytes: int = VALIDATION_SCORE_BYTES,
) -> int:
    """``max_users``, or fewer where their scores would pass ``budget_bytes``."""
    per_user = max(n_items, 1) * max(n_components, 1) * max(repeats, 1) * 4 * _COPIES
    affordable = int(budget_bytes // per_user)
    return int(min(max_users, max(MIN_VALIDATION_USERS, affordable)))
