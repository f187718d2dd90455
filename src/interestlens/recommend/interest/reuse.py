"""Tuned choices carried from an earlier fit into a refit (``InterestRecommender(reuse_tuning=…)``).

The search is most of a warm-cache ``fit`` (three regimes, each searched on all validation users
and twice more on halves for the keep-or-fall-back check). A shop that refits every day on a day
more of the same data can take last week's choices — the weights of every regime (a fallback
is a weight of 1 on one reference), the half-life and the cluster count — and tune again when
the data changed in kind. The refit then only fits the components.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from interestlens.errors import NotFittedError, ParameterError
from interestlens.recommend.interest.components import COMPONENTS, REFERENCES
from interestlens.recommend.interest.tuning import PROTOCOLS, REGIMES


@dataclass(frozen=True)
class ReusedTuning:
    """What an earlier fit's tuning chose, and where it came from (``source``: said in the
    refit's ``tuning_`` record, the ``fit`` summary and the model card)."""

    weights: Mapping[str, Mapping[str, float]]
    half_life: float | None
    n_clusters: int
    protocol: str
    source: str

    def __post_init__(self) -> None:
        names = set(COMPONENTS) | set(REFERENCES)
        missing = [regime for regime in REGIMES if regime not in self.weights]
        if missing:
            raise ParameterError(
                f"the tuned weights from {self.source} have no regime {missing}",
                expected=f"weights for every regime: {list(REGIMES)}",
                fix="refit the earlier model (its recommender state is incomplete), or tune again",
            )
        for regime, weights in self.weights.items():
            unknown = sorted(set(weights) - names)
            bad = {
                name: value
                for name, value in weights.items()
                if isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            }
            if regime not in REGIMES or unknown or bad:
                raise ParameterError(
                    f"the tuned weights from {self.source} hold regime {regime!r} with unknown "
                    f"components {unknown} and bad values {bad}",
                    expected=f"regimes {list(REGIMES)}, components from {sorted(names)}, "
                    "finite weights >= 0",
                    fix="refit the earlier model, or tune again (drop reuse_tuning)",
                )
        if self.half_life is not None and not (
            isinstance(self.half_life, int | float)
            and not isinstance(self.half_life, bool)
            and math.isfinite(self.half_life)
            and self.half_life > 0
        ):
            raise ParameterError(
                f"the half-life from {self.source} is {self.half_life!r}",
                expected="None or a finite number > 0",
                fix="refit the earlier model, or tune again",
            )
        if isinstance(self.n_clusters, bool) or not (
            isinstance(self.n_clusters, int) and self.n_clusters >= 1
        ):
            raise ParameterError(
                f"the cluster count from {self.source} is {self.n_clusters!r}",
                expected="an integer >= 1",
                fix="refit the earlier model, or tune again",
            )
        if self.protocol not in PROTOCOLS:
            raise ParameterError(
                f"the earlier model from {self.source} was tuned for {self.protocol!r}",
                expected=f"one of {list(PROTOCOLS)}",
                fix="refit the earlier model, or tune again",
            )

    @classmethod
    def from_recommender(cls, fitted: Any, source: str) -> ReusedTuning:
        """The choices of a fitted :class:`InterestRecommender` (loaded or in memory)."""
        learned = [getattr(fitted, name, None) for name in ("weights_", "n_clusters_")]
        if any(value is None for value in learned):
            raise NotFittedError(
                f"the recommender of {source} is not fitted",
                expected="a fitted InterestRecommender whose tuning can be reused",
                fix="fit the earlier model first, or tune again",
            )
        return cls(
            weights={
                regime: {name: float(value) for name, value in weights.items()}
                for regime, weights in fitted.weights_.items()
            },
            half_life=fitted.half_life_,
            n_clusters=int(fitted.n_clusters_),
            protocol=str(getattr(fitted, "validation", "temporal")),
            source=source,
        )

    def record(self, regime: str) -> dict[str, Any]:
        """The refit's ``tuning_`` entry for ``regime``."""
        return {
            "reused": self.source,
            "protocol": self.protocol,
            "weights": dict(self.weights[regime]),
            "why": f"weights reused from {self.source} (tuned there for the {self.protocol} "
            "hold-out), not searched again",
        }
