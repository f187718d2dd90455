"""Pseudonyms: user ids replaced by HMAC-SHA256(key, id) before anything is saved.

The key never enters a model directory; a *fingerprint* of it does (an HMAC of a fixed label),
so that a model loaded with another key fails with a clear error instead of answering "unknown
user" for everyone. Without the key a pseudonym cannot be computed from an id, nor reversed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from interestlens.config import PrivacyConfig
from interestlens.data.ids import IdMap
from interestlens.data.schema import USER_ID, Dataset
from interestlens.errors import ConfigError

#: shortest accepted key: HMAC keys much shorter than the hash are guessable
MIN_KEY_CHARS = 16
_FINGERPRINT_LABEL = b"interestlens privacy key fingerprint v1"


class PrivacyKeyError(ConfigError):
    """Pseudonymization is on but the key is missing, too short, or not the model's key."""


class Pseudonymizer:
    """``pseudonym(id)`` = hex HMAC-SHA256(key, id): stable for one key, unlinkable without it."""

    def __init__(self, key: str):
        if not isinstance(key, str) or len(key) < MIN_KEY_CHARS:
            shown = "no key" if not key else f"a key of {len(key)} characters"
            raise PrivacyKeyError(
                f"privacy.pseudonymize is on but got {shown}",
                expected=f"a secret key of at least {MIN_KEY_CHARS} characters in privacy.key",
                fix="export INTERESTLENS_PRIVACY__KEY=<a long random secret> (for example "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`) and keep it out "
                "of the model directory",
            )
        self._key = key.encode("utf-8")

    def pseudonym(self, user_id: object) -> str:
        return hmac.new(self._key, str(user_id).encode("utf-8"), hashlib.sha256).hexdigest()

    def pseudonyms(self, user_ids: Iterable[object]) -> list[str]:
        return [self.pseudonym(u) for u in user_ids]

    @property
    def fingerprint(self) -> str:
        """Identifies the key (to check a model against it) without revealing it."""
        return hmac.new(self._key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]

    def wrap(self, ids: IdMap) -> PseudonymousIdMap:
        return PseudonymousIdMap(ids, self)

    def check_manifest(self, manifest: Mapping[str, Any], where: str = "the model") -> None:
        """Raise when ``manifest`` records pseudonyms made with another key."""
        record = manifest.get("privacy") or {}
        if record.get("pseudonymized") and record.get("key_fingerprint") != self.fingerprint:
            raise PrivacyKeyError(
                f"privacy.key has fingerprint {self.fingerprint} but {where} was pseudonymized "
                f"with the key of fingerprint {record.get('key_fingerprint')}",
                expected="the key the model was fitted with",
                fix="set INTERESTLENS_PRIVACY__KEY to that key (after a rotation: the new key "
                "and the rotated model)",
            )

    def __repr__(self) -> str:  # never print the key
        return f"Pseudonymizer(fingerprint={self.fingerprint})"


def pseudonymizer_for(config: PrivacyConfig) -> Pseudonymizer | None:
    """The pseudonymizer ``config`` asks for (None when pseudonymization is off)."""
    if not config.pseudonymize:
        return None
    return Pseudonymizer(config.key or "")


def is_pseudonymized(manifest: Mapping[str, Any]) -> bool:
    return bool((manifest.get("privacy") or {}).get("pseudonymized"))


def model_pseudonymizer(config: PrivacyConfig, manifest: Mapping[str, Any]) -> Pseudonymizer | None:
    """The pseudonymizer for a saved model: required (and checked) when the model holds
    pseudonyms, whatever ``config.pseudonymize`` says; None for a model with raw ids."""
    if not is_pseudonymized(manifest):
        return None
    if not config.key:
        raise PrivacyKeyError(
            "the model holds pseudonymous user ids but privacy.key is not set",
            expected="the key the model was fitted with, in INTERESTLENS_PRIVACY__KEY",
            fix="export INTERESTLENS_PRIVACY__KEY=<the key> (it is never stored in the model)",
        )
    pseudonymizer = Pseudonymizer(config.key)
    pseudonymizer.check_manifest(manifest)
    return pseudonymizer


def manifest_record(pseudonymizer: Pseudonymizer | None, config: PrivacyConfig) -> dict[str, Any]:
    """What a model's manifest says about its privacy settings (no secret)."""
    return {
        "pseudonymized": pseudonymizer is not None,
        "key_fingerprint": None if pseudonymizer is None else pseudonymizer.fingerprint,
        "min_group_size": config.min_group_size if config.enabled else None,
        "epsilon": config.epsilon,
        "delta": config.delta if config.epsilon is not None else None,
        "clip": config.clip if config.epsilon is not None else None,
        "dimensions": config.dimensions if config.epsilon is not None else None,
    }


class PseudonymousIdMap(IdMap):
    """An :class:`IdMap` of pseudonyms that also takes raw ids: a lookup hashes the id first
    and falls back to the id itself when it is already a known pseudonym (so lists written
    with pseudonyms, like ``recommend --all``, can be read back). New ids are always hashed."""

    def __init__(self, ids: IdMap, pseudonymizer: Pseudonymizer):
        super().__init__(ids.ids, kind=ids.kind)
        self._pseudonymizer = pseudonymizer

    def key(self, raw: object) -> str:
        hashed = self._pseudonymizer.pseudonym(raw)
        if hashed not in self._index and str(raw) in self._index:
            return str(raw)
        return hashed

    def add(self, raw: object) -> int:
        if not hasattr(self, "_pseudonymizer"):  # IdMap.__init__ adding the pseudonyms
            return super().add(raw)
        return super().add(self.key(raw))

    def get(self, raw: object, default: int = -1) -> int:
        return super().get(self.key(raw), default)

    def index(self, raw: object) -> int:
        return super().index(self.key(raw))

    def __contains__(self, raw: object) -> bool:
        return super().__contains__(self.key(raw))

    def indices(self, raws: Iterable[object], *, missing: str = "error") -> np.ndarray:
        return super().indices([self.key(r) for r in raws], missing=missing)


def pseudonymize_dataset(
    dataset: Dataset,
    pseudonymizer: Pseudonymizer,
    labels_true: Mapping[str, object] | None = None,
) -> tuple[Dataset, dict[str, object] | None]:
    """The dataset with every user id replaced by its pseudonym (and known labels re-keyed)."""
    interactions = dataset.interactions.copy()
    interactions[USER_ID] = pseudonymizer.pseudonyms(interactions[USER_ID].tolist())
    users = None
    if dataset.users is not None:
        users = dataset.users.copy()
        users[USER_ID] = pseudonymizer.pseudonyms(users[USER_ID].tolist())
    renamed = dataclasses.replace(dataset, interactions=interactions, users=users)
    labels = None
    if labels_true is not None:
        labels = {pseudonymizer.pseudonym(u): label for u, label in labels_true.items()}
    return renamed, labels
