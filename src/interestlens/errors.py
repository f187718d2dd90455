"""The one exception tree of interestlens.

Every error says three things: what was received, what was expected, and how to fix it.
Build them with keyword arguments so that no message forgets one of the three::

    raise MissingColumnsError(
        f"{path}: columns {found} do not include 'user_id'",
        expected="a column named 'user_id' (or the name set by data.user_col)",
        fix="rename the column or pass --user-col NAME",
    )

The CLI prints ``str(error)`` on one line and exits with code 2; the HTTP service turns each
error into a 4xx JSON body. Errors that are also classic Python errors (a missing file, a bad
value) subclass those too, so ``except FileNotFoundError`` keeps working.
"""

from __future__ import annotations


class InterestLensError(Exception):
    """Base class: ``problem`` (what was received), ``expected`` and ``fix``."""

    def __init__(self, problem: str, *, expected: str | None = None, fix: str | None = None):
        self.problem = problem
        self.expected = expected
        self.fix = fix
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.problem.rstrip(".")]
        if self.expected:
            parts.append(f"expected {self.expected.rstrip('.')}")
        message = "; ".join(parts) + "."
        if self.fix:
            message += f" Fix: {self.fix.rstrip('.')}."
        return message

    def to_dict(self) -> dict[str, str | None]:
        return {
            "error": type(self).__name__,
            "message": str(self),
            "problem": self.problem,
            "expected": self.expected,
            "fix": self.fix,
        }


# --- input data ------------------------------------------------------------------------------


class DataError(InterestLensError, ValueError):
    """The input data cannot be read or does not follow the canonical data model."""


class DataFileNotFoundError(DataError, FileNotFoundError):
    """A named input file does not exist."""


class DataFormatError(DataError):
    """A file is not in the format its name or the caller claims (CSV, Parquet, JSON lines)."""


class TextDecodeError(DataError):
    """A text file holds bytes that are not valid in its encoding."""


class EmptyDataError(DataError):
    """A file or table has no rows."""


class MissingColumnsError(DataError, KeyError):
    """Required columns are absent; the message lists those found and those expected."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self._render()


class DuplicateIdError(DataError):
    """The same item or user id appears on more than one row of a table keyed by it."""


class UnknownIdError(DataError, KeyError):
    """An id refers to an item or user that the data or model does not know."""

    def __str__(self) -> str:
        return self._render()


class InvalidValueError(DataError):
    """A value cannot be parsed as its column's type (a rating or timestamp that is no number)."""


# --- configuration and parameters ------------------------------------------------------------


class ConfigError(InterestLensError, ValueError):
    """A configuration file, environment variable or option has a wrong name or value."""


class ParameterError(InterestLensError, ValueError):
    """An argument to a component is out of range (``n_samples=3 should be >= n_clusters=5``)."""


# --- models ----------------------------------------------------------------------------------


class EncoderError(InterestLensError, RuntimeError):
    """A text encoder cannot be loaded or fails to encode."""


class NotFittedError(InterestLensError, AttributeError):
    """A component was used before ``fit``."""


class ModelFormatError(InterestLensError, ValueError):
    """A saved model directory is missing files, damaged, or written by an incompatible version."""


class NamerError(InterestLensError, RuntimeError):
    """A remote cluster namer could not be reached or answered something that is not a label."""
