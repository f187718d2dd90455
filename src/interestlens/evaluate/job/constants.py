"""The names and fixed settings every part of the evaluate job shares."""

from __future__ import annotations

from interestlens.data.splits import DEFAULT_HOLDOUT_FRACTION, HOLDOUT_PROTOCOLS
from interestlens.evaluate.prepare import COLD_ITEMS, COLD_USERS, WARM_USERS

OURS = "interestlens"
BASELINES: tuple[str, ...] = ("MostPop", "ItemKNN", "EASE", "ALS", "ContentKNN")
MODELS: tuple[str, ...] = (OURS, *BASELINES)
#: popularity within the user's attribute groups: compared by default when the users table has
#: attribute columns (it has nothing to read otherwise), and on request
ATTRIBUTE_POP = "AttributePop"
ALL_MODELS: tuple[str, ...] = (*MODELS, ATTRIBUTE_POP)
WARM, COLD_USERS_TEXT = "warm", "cold_users_text"
SEGMENTS: tuple[str, ...] = (WARM, COLD_USERS, COLD_ITEMS)
SEGMENT_TITLES = {
    WARM: "warm users",
    COLD_USERS: "cold users (3 fold-in interactions + their text)",
    COLD_USERS_TEXT: "cold users (text only)",
    COLD_ITEMS: "cold items",
}
#: share held out in every split, fold-in interactions per cold user, EASE's l2 candidates
TEST_FRACTION, HISTORY_PER_USER = 0.2, 3
#: the warm users' hold-out under ``--split random``: a random 25 % of each user's interactions
#: (the 75/25 split of public benchmark tables)
RANDOM_TEST_FRACTION = DEFAULT_HOLDOUT_FRACTION["random"]
#: the hold-out protocols of ``--split``
SPLIT_PROTOCOLS: tuple[str, ...] = HOLDOUT_PROTOCOLS
EASE_LAMBDAS: tuple[float, ...] = (10.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
#: InterestRecommender's blend regime for each segment
REGIME = {WARM: "warm", COLD_USERS: "cold_users", COLD_USERS_TEXT: "cold_text"}
REGIME[COLD_ITEMS] = "cold_items"
#: the runner's segment (of a PreparedSplit) that each job segment is scored on
RUNNER_SEGMENT = {WARM: WARM_USERS, COLD_USERS: COLD_USERS, COLD_USERS_TEXT: COLD_USERS}
RUNNER_SEGMENT[COLD_ITEMS] = COLD_ITEMS


def metric_columns(k: int) -> list[str]:
    """The columns of every segment table, in order."""
    ranking = [f"{name}@{k}" for name in ("ndcg", "recall", "precision", "mrr", "map", "hit_rate")]
    return [*ranking, "auc", f"coverage@{k}", f"diversity@{k}", f"novelty@{k}", "n_users"]
