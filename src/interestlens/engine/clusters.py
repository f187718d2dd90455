"""Interest clusters by id: a user's cluster, a new person's predicted one, and summaries."""

from __future__ import annotations

from typing import Any

import numpy as np

from interestlens.embed.base import l2_normalise
from interestlens.engine.records import ClusterSummary, UserCluster, _by_id
from interestlens.errors import UnknownIdError


class ClustersMixin:
    """Cluster lookups and predictions of a :class:`~interestlens.engine.RecommendationEngine`."""

    def _cluster_index(self, user: int) -> int:
        return int(self.user_labels[user]) if user < len(self.user_labels) else -1

    def _cluster_of_new(self, items: np.ndarray, text: str | None) -> int:
        """Interest cluster of a history and/or text, through the fitted representation."""
        text_vector = None
        if text is not None:
            text_vector = l2_normalise(self.encoder().encode([text]))[0]
        return self._predict_cluster(items, None, None, text_vector)

    def _predict_cluster(
        self,
        items: np.ndarray,
        ratings: np.ndarray | None,
        times: np.ndarray | None,
        text_vector: np.ndarray | None,
    ) -> int:
        vector = self.model.representer_.transform_one(
            items, self.item_vectors, ratings=ratings, timestamps=times, text_vector=text_vector
        )
        labels, _ = self.model.assign(vector[None, :])
        return int(labels[0])

    def interest_vector(self, user_id: str) -> np.ndarray:
        """A known user's interest vector now (fitted history, events and own text)."""
        user = self._user_index(user_id)
        items, ratings, times = self._history(user)
        text_vector = None
        if self._user_text(user) is not None:
            text_vector = self.model.user_text_vectors_[user]
        return self.model.representer_.transform_one(
            items, self.item_vectors, ratings=ratings, timestamps=times, text_vector=text_vector
        )

    def user_cluster(self, user_id: str) -> UserCluster:
        user = self._user_index(user_id)
        cluster = self._cluster_index(user)
        probability = None
        if self.user_probability is not None and user < len(self.user_probability):
            value = float(self.user_probability[user])
            probability = None if np.isnan(value) else round(value, 4)
        return UserCluster(
            user_id=user_id,
            cluster=cluster,
            label=self._label(cluster),
            probability=probability,
            source=str(self.user_source[user]) if user < len(self.user_source) else "history",
        )

    def clusters(self) -> list[ClusterSummary]:
        """Every cluster that may be shown (with privacy on, small groups are left out)."""
        summaries = [self._summary(e) for e in sorted(self._explanations.values(), key=_by_id)]
        return [s for s in summaries if self._shown(s)]

    def _shown(self, summary: ClusterSummary) -> bool:
        if not self.privacy.enabled:
            return True
        # online events and forgetting change sizes after the fit: check the current one too
        return (
            summary.cluster_id not in self._withheld and summary.size >= self.privacy.min_group_size
        )

    def cluster(self, cluster_id: int) -> ClusterSummary:
        explanation = self._explanations.get(int(cluster_id))
        if explanation is not None and not self._shown(self._summary(explanation)):
            raise UnknownIdError(
                f"cluster {cluster_id} has fewer than {self.privacy.min_group_size} users: "
                "its statistics are withheld",
                expected=f"a cluster id among {[s.cluster_id for s in self.clusters()]}",
                fix="list the clusters that may be shown with GET /clusters",
            )
        if explanation is None:
            raise UnknownIdError(
                f"no cluster {cluster_id}",
                expected=f"a cluster id among {sorted(self._explanations)}",
                fix="list the clusters with GET /clusters or 'interestlens describe'",
            )
        return self._summary(explanation)

    def _summary(self, explanation: Any) -> ClusterSummary:
        size = int(np.sum(self.user_labels == explanation.cluster_id))
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
