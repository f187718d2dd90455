"""Gaussian mixture (scikit-learn): soft membership of every user in every cluster.

``covariance_type="diag"`` by default: a full covariance per component has d*(d+1)/2 parameters
(73,920 at d=384), far more than a cluster of users can estimate, while diagonal ones have d.
With a PCA reduction first, "full" becomes affordable.

A saved model keeps weights, means, covariances and precision Cholesky factors, which is all
that scikit-learn's ``predict``/``predict_proba`` read, so a restored model gives the same
probabilities.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.mixture import GaussianMixture

from interestlens.cluster.base import (
    ClustererState,
    check_features,
    check_fitted,
    check_matrix,
    check_n_clusters,
    member_means,
)
from interestlens.cluster.params import ParamsMixin
from interestlens.errors import ParameterError

CovarianceType = Literal["full", "tied", "diag", "spherical"]


class GaussianMixtureClusterer(ParamsMixin):
    """``n_clusters`` Gaussian components fitted by EM; ``labels_`` is the most likely one."""

    kind = "gmm"

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        covariance_type: CovarianceType = "diag",
        n_init: int = 1,
        max_iter: int = 200,
        reg_covar: float = 1e-6,
        random_state: int | None = None,
    ):
        self.n_clusters = n_clusters
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.max_iter = max_iter
        self.reg_covar = reg_covar
        self.random_state = random_state

    def fit(self, X: np.ndarray) -> GaussianMixtureClusterer:
        X = check_matrix(X)
        check_n_clusters(len(X), self.n_clusters)
        if self.covariance_type not in ("full", "tied", "diag", "spherical"):
            raise ParameterError(
                f"covariance_type={self.covariance_type!r}",
                expected="'full', 'tied', 'diag' or 'spherical'",
                fix="pass covariance_type='diag' (default)",
            )
        model = GaussianMixture(
            n_components=self.n_clusters,
            covariance_type=self.covariance_type,
            n_init=self.n_init,
            max_iter=self.max_iter,
            reg_covar=self.reg_covar,
            random_state=self.random_state,
        ).fit(X)
        self.mixture_ = model
        self.converged_ = bool(model.converged_)
        self.bic_ = float(model.bic(X))
        self.n_clusters_ = self.n_clusters
        self.n_features_in_ = X.shape[1]
        self.probabilities_ = model.predict_proba(X).astype(np.float32)
        self.labels_ = np.argmax(self.probabilities_, axis=1).astype(np.int64)
        self.centroids_ = member_means(
            X, self.labels_, self.n_clusters_, fallback=model.means_.astype(np.float32)
        )
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        check_fitted(self, "mixture_")
        X = check_matrix(X)
        check_features(X, self.n_features_in_, owner=type(self).__name__)
        return self.mixture_.predict_proba(X).astype(np.float32)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.argmax(self.predict_proba(X), axis=1).astype(np.int64)

    def get_state(self) -> ClustererState:
        check_fitted(self, "mixture_")
        mixture = self.mixture_
        return ClustererState(
            kind=self.kind,
            params=self.get_params() | {"bic_": self.bic_, "converged_": self.converged_},
            arrays={
                "weights": mixture.weights_,
                "means": mixture.means_,
                "covariances": mixture.covariances_,
                "precisions_cholesky": mixture.precisions_cholesky_,
                "centroids": self.centroids_,
                "labels": self.labels_,
                "probabilities": self.probabilities_,
            },
        )

    @classmethod
    def from_state(cls, state: ClustererState) -> GaussianMixtureClusterer:
        model = cls(**{k: v for k, v in state.params.items() if not k.endswith("_")})
        arrays = state.arrays
        mixture = GaussianMixture(
            n_components=len(arrays["weights"]), covariance_type=model.covariance_type
        )
        # These are the fitted attributes scikit-learn's predict/predict_proba read.
        mixture.weights_ = np.asarray(arrays["weights"], dtype=np.float64)
        mixture.means_ = np.asarray(arrays["means"], dtype=np.float64)
        mixture.covariances_ = np.asarray(arrays["covariances"], dtype=np.float64)
        mixture.precisions_cholesky_ = np.asarray(arrays["precisions_cholesky"], dtype=np.float64)
        mixture.n_features_in_ = mixture.means_.shape[1]
        mixture.converged_ = bool(state.params["converged_"])
        model.mixture_ = mixture
        model.bic_ = float(state.params["bic_"])
        model.converged_ = mixture.converged_
        model.n_clusters_ = len(mixture.weights_)
        model.n_features_in_ = mixture.means_.shape[1]
        model.centroids_ = np.asarray(arrays["centroids"], dtype=np.float32)
        model.labels_ = np.asarray(arrays["labels"], dtype=np.int64)
        model.probabilities_ = np.asarray(arrays["probabilities"], dtype=np.float32)
        return model
