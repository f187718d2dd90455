"""Why an item is recommended: each cluster's lift over the global item shares, the reason
text built from it and from the rated item that does most for the recommended one, and the
:class:`~interestlens.engine.records.Recommendation` list that carries both."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from interestlens.engine.records import Recommendation
from interestlens.privacy import WITHHELD_LABEL
from interestlens.recommend.interest.cluster_affinity import item_log_shares

#: smoothing of a cluster's item shares toward the global share (interactions), as in the
#: recommender's own cluster affinity
REASON_SHRINKAGE = 50.0
#: a cluster "likes" an item when its share there is this many times its global share
REASON_LIFT = 1.2
#: reason texts kept per (user, item), counted with ~100 bytes of dict overhead each
REASONS_CACHE_BYTES = 32 * 1024 * 1024


class ReasonsMixin:
    """Cluster lifts, reason texts and packaged recommendations of a
    :class:`~interestlens.engine.RecommendationEngine`."""

    @staticmethod
    def _cluster_lift(frame: pd.DataFrame, labels: np.ndarray, n_items: int) -> np.ndarray:
        """``(k, n_items)`` log share of each item in each cluster over its global share."""
        k = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
        if k == 0 or len(frame) == 0:
            return np.zeros((max(k, 1), n_items), dtype=np.float32)
        user_cluster = labels[frame["user_index"].to_numpy()]
        inside = user_cluster >= 0
        counts = sp.csr_matrix(
            (
                np.ones(int(inside.sum())),
                (user_cluster[inside], frame["item_index"].to_numpy()[inside]),
            ),
            shape=(k, n_items),
        ).toarray()
        log_share, log_global, _ = item_log_shares(counts, REASON_SHRINKAGE)
        return log_share - log_global[None, :]

    def _label(self, cluster: int) -> str:
        if int(cluster) in self._withheld:
            return WITHHELD_LABEL
        return self.model.clusters_.label_of(int(cluster))

    def _reason(
        self,
        item: int,
        *,
        cluster: int,
        history: np.ndarray,
        has_text: bool,
        popular: bool = False,
    ) -> str:
        if popular:
            return "popular overall"
        parts = []
        fitted_item = item < self._lift.shape[1] and self._item_counts[item] > 0
        if cluster >= 0 and cluster < len(self._lift):
            label = self._label(cluster)
            if not fitted_item:
                parts.append("new item")
            elif self._lift[cluster, item] > np.log(REASON_LIFT):
                parts.append(f"popular among {label}")
            else:
                parts.append(f"fits the interests of {label}")
        similar = None
        if len(history):
            with self._lock:
                similar = self.recommender.most_similar_item(int(item), np.unique(history))
        if similar is not None:
            parts.append(f"similar to {self.titles[similar]}, which you rated")
        elif has_text:
            parts.append("close to what you wrote")
        return "; ".join(parts) if parts else "popular overall"

    def _remember_reason(self, key: tuple[int, int], reason: str) -> None:
        """Keep a reason text, within :data:`REASONS_CACHE_BYTES` (oldest dropped first)."""
        with self._lock:
            self._reasons[key] = reason
            self._reasons_bytes = getattr(self, "_reasons_bytes", 0) + len(reason) + 100
            while self._reasons_bytes > REASONS_CACHE_BYTES and self._reasons:
                old = self._reasons.pop(next(iter(self._reasons)))
                self._reasons_bytes -= len(old) + 100

    def _package(
        self,
        items: np.ndarray,
        scores: np.ndarray,
        *,
        user: int | None = None,
        cluster: int | None = None,
        history: np.ndarray | None = None,
        has_text: bool = False,
        popular: bool = False,
    ) -> list[Recommendation]:
        if user is not None:
            cluster = self._cluster_index(user)
            history, _, _ = self._history(user)
            has_text = self._user_text(user) is not None
        cluster = -1 if cluster is None else int(cluster)
        history = np.zeros(0, dtype=np.int64) if history is None else history
        out = []
        for rank, (item, score) in enumerate(zip(items, scores, strict=True), start=1):
            key = (user, int(item)) if user is not None else None
            reason = self._reasons.get(key) if key is not None else None
            if reason is None:
                reason = self._reason(
                    int(item), cluster=cluster, history=history, has_text=has_text, popular=popular
                )
                if key is not None:
                    self._remember_reason(key, reason)
            out.append(
                Recommendation(
                    item_id=self.item_ids.id_of(int(item)),
                    score=round(float(score), 6),
                    rank=rank,
                    cluster=cluster,
                    cluster_label=self._label(cluster) if cluster >= 0 else "",
                    reason=reason,
                )
            )
        return out
