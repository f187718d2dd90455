"""``get_params``/``clone`` in the scikit-learn manner: settings are the ``__init__`` arguments."""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

T = TypeVar("T")


class ParamsMixin:
    """Settings stored unchanged under their ``__init__`` names, readable as one dict."""

    def get_params(self) -> dict[str, Any]:
        signature = inspect.signature(type(self).__init__)
        return {
            name: getattr(self, name)
            for name, parameter in signature.parameters.items()
            if name != "self" and parameter.kind is not parameter.VAR_KEYWORD
        }

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({settings})"


def clone(model: T, **changes: Any) -> T:
    """An unfitted copy of ``model`` with the same settings, some replaced by ``changes``."""
    params = model.get_params()  # type: ignore[attr-defined]
    unknown = set(changes) - set(params)
    if unknown:
        raise TypeError(f"{type(model).__name__} has no settings {sorted(unknown)}")
    return type(model)(**(params | changes))
