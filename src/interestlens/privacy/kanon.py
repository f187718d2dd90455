"""k-anonymous cluster statistics: what the report, ``describe`` and ``/clusters`` may show.

With privacy on (``privacy.pseudonymize`` or ``privacy.epsilon``), a cluster of fewer than
``privacy.min_group_size`` users shows nothing — no size, label, keywords, items or rating —
only the number of such groups; no cluster shows medoid *users* (its most central items stand
for it instead). When a differentially private release exists, sizes and shares come from it,
and the threshold is applied to the released (noisy) size, so the decision adds no leak.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from interestlens.config import PrivacyConfig
from interestlens.explain import ClusterExplanation
from interestlens.privacy.dp import ClusterRelease

#: how a user's cluster is named when the cluster is too small to be described
WITHHELD_LABEL = "small group (withheld)"


def shown_size(explanation: ClusterExplanation, release: ClusterRelease | None) -> int:
    """The size that may be shown: the released noisy size when there is a release."""
    if release is not None:
        released = release.size_of(explanation.cluster_id)
        return 0 if released is None else released
    return int(explanation.size)


def withheld_clusters(
    explanations: Sequence[ClusterExplanation],
    config: PrivacyConfig,
    release: ClusterRelease | None = None,
) -> set[int]:
    """Ids of the clusters too small to describe (none when privacy is off)."""
    if not config.enabled:
        return set()
    return {
        int(e.cluster_id) for e in explanations if shown_size(e, release) < config.min_group_size
    }


def shown_explanations(
    explanations: Sequence[ClusterExplanation],
    config: PrivacyConfig,
    release: ClusterRelease | None = None,
) -> tuple[list[ClusterExplanation], int]:
    """The explanations that may be shown, and how many small clusters were left out.

    Privacy off: all of them, unchanged. Privacy on: small clusters left out, medoid users
    removed, sizes and shares replaced by the release's where there is one."""
    if not config.enabled:
        return list(explanations), 0
    withheld = withheld_clusters(explanations, config, release)
    total = sum(shown_size(e, release) for e in explanations) or 1
    shown = []
    for explanation in explanations:
        if int(explanation.cluster_id) in withheld:
            continue
        size = shown_size(explanation, release)
        shown.append(
            dataclasses.replace(
                explanation,
                size=size,
                share=size / total if release is not None else explanation.share,
                medoid_users=[],
            )
        )
    return shown, len(withheld)


def privacy_facts(
    config: PrivacyConfig, release: ClusterRelease | None, n_withheld: int
) -> dict[str, str]:
    """Lines for the report's summary saying what privacy protections the numbers carry."""
    if not config.enabled:
        return {}
    facts = {
        "user ids": "pseudonymized (HMAC-SHA256)" if config.pseudonymize else "raw",
        "smallest group shown": f"{config.min_group_size} users",
        "small groups withheld": str(n_withheld),
    }
    if release is not None:
        facts["differential privacy"] = (
            f"ε = {release.epsilon:g}, δ = {release.delta:g}, clip = {release.clip:g}"
        )
        facts["DP mechanism"] = release.describe()
    return facts
