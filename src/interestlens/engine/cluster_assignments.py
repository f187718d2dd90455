"""Which interest cluster each user is in now, and what may be shown of each cluster
(:class:`ClusterAssignments`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from interestlens.config import PrivacyConfig
from interestlens.engine.records import ClusterSummary, UserCluster
from interestlens.errors import UnknownIdError
from interestlens.explain import ClusterExplanation
from interestlens.privacy import WITHHELD_LABEL, withheld_clusters


class ClusterAssignments:
    """Users' clusters (fitted, then moved by events), labels and cluster summaries.

    ``labels``, ``probability`` and ``source``: per fitted user, as
    :meth:`InterestLens.user_clusters` gives them; ``label_of``: the fitted label of a
    cluster id; ``privacy`` / ``privacy_release``: with privacy on, clusters too small to
    describe keep no label, size or words.
    """

    def __init__(
        self,
        labels: np.ndarray,
        probability: np.ndarray | None,
        source: np.ndarray,
        *,
        explanations: Sequence[ClusterExplanation],
        label_of: Callable[[int], str],
        privacy: PrivacyConfig,
        privacy_release: Any = None,
    ):
        self._labels = np.asarray(labels, dtype=np.int64)
        self._probability = probability
        self._source = np.asarray(source, dtype=object)
        self._explanations = {e.cluster_id: e for e in explanations}
        self._label_of = label_of
        self.privacy = privacy
        self.privacy_release = privacy_release
        #: clusters too small to describe (privacy on): no label, size or words are shown
        self._withheld = withheld_clusters(list(explanations), privacy, privacy_release)

    # --- reads -----------------------------------------------------------------------------

    @property
    def user_labels(self) -> np.ndarray:
        """Each user's cluster id now (-1: none), by user index (read-only view)."""
        view = self._labels.view()
        view.flags.writeable = False
        return view

    def of(self, user: int) -> int:
        return int(self._labels[user]) if user < len(self._labels) else -1

    def of_many(self, users: np.ndarray) -> np.ndarray:
        inside = users < len(self._labels)
        return np.where(inside, self._labels[np.where(inside, users, 0)], -1)

    def label(self, cluster: int) -> str:
        if int(cluster) in self._withheld:
            return WITHHELD_LABEL
        return self._label_of(int(cluster))

    def labels(self, n_clusters: int) -> list[str]:
        """The label of each cluster id below ``n_clusters``."""
        return [self.label(c) for c in range(n_clusters)]

    def user_cluster(self, user_id: str, user: int) -> UserCluster:
        cluster = self.of(user)
        probability = None
        if self._probability is not None and user < len(self._probability):
            value = float(self._probability[user])
            probability = None if np.isnan(value) else round(value, 4)
        return UserCluster(
            user_id=user_id,
            cluster=cluster,
            label=self.label(cluster),
            probability=probability,
            source=str(self._source[user]) if user < len(self._source) else "history",
        )

    def summaries(self) -> list[ClusterSummary]:
        """Every cluster that may be shown (with privacy on, small groups are left out)."""
        ordered = sorted(self._explanations.values(), key=lambda e: int(e.cluster_id))
        summaries = [self._summary(e) for e in ordered]
        return [s for s in summaries if self._shown(s)]

    def summary(self, cluster_id: int) -> ClusterSummary:
        explanation = self._explanations.get(int(cluster_id))
        if explanation is not None and not self._shown(self._summary(explanation)):
            raise UnknownIdError(
                f"cluster {cluster_id} has fewer than {self.privacy.min_group_size} users: "
                "its statistics are withheld",
                expected=f"a cluster id among {[s.cluster_id for s in self.summaries()]}",
                fix="list the clusters that may be shown with GET /clusters",
            )
        if explanation is None:
            raise UnknownIdError(
                f"no cluster {cluster_id}",
                expected=f"a cluster id among {sorted(self._explanations)}",
                fix="list the clusters with GET /clusters or 'interestlens describe'",
            )
        return self._summary(explanation)

    def _shown(self, summary: ClusterSummary) -> bool:
        if not self.privacy.enabled:
            return True
        # online events and forgetting change sizes after the fit: check the current one too
        return (
            summary.cluster_id not in self._withheld and summary.size >= self.privacy.min_group_size
        )

    def _summary(self, explanation: ClusterExplanation) -> ClusterSummary:
        size = int(np.sum(self._labels == explanation.cluster_id))
        if self.privacy_release is not None:
            # the released (noisy) size; the live count is not differentially private
            size = self.privacy_release.size_of(explanation.cluster_id) or 0
        return ClusterSummary(
            cluster_id=int(explanation.cluster_id),
            label=explanation.label,
            size=size,
            keywords=[k.term for k in explanation.keywords],
            representative_items=[c.title for c in explanation.central_items],
        )

    # --- changes ---------------------------------------------------------------------------

    def move(self, user: int, cluster: int) -> None:
        """Put ``user`` (a new index grows the arrays) in ``cluster`` after new events."""
        if user >= len(self._labels):
            grow = user + 1 - len(self._labels)
            self._labels = np.concatenate([self._labels, np.full(grow, -1)])
            self._source = np.concatenate([self._source, np.full(grow, "history", dtype=object)])
            if self._probability is not None:
                self._probability = np.concatenate(
                    [self._probability, np.full(grow, np.nan, dtype=np.float32)]
                )
        self._labels[user] = cluster
        if self._probability is not None:
            self._probability[user] = np.nan
        if self._source[user] in ("none", "text"):
            self._source[user] = "blend" if self._source[user] == "text" else "history"

    def forget(self, user: int) -> None:
        if user < len(self._labels):
            self._labels[user] = -1
