"""Cluster names: from keywords (default, offline) or from an OpenAI-compatible chat model.

Nothing here touches the network unless an :class:`OpenAICompatibleNamer` is built and used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import httpx

from interestlens.errors import ConfigError, NamerError
from interestlens.explain.explanation import ClusterExplanation


@runtime_checkable
class ClusterNamer(Protocol):
    """Gives a cluster a short human-readable name."""

    def name(self, explanation: ClusterExplanation) -> str: ...


class KeywordNamer:
    """The default: the top keywords joined, e.g. ``"hiking · trail · mountain"``.

    A keyword is skipped when it repeats an earlier one (``"trails"`` after ``"trail"``) or only
    combines earlier words (``"hiking trail"`` after ``"hiking"`` and ``"trail"``).
    Clusters without keywords are named by ``fallback`` (formatted with ``cluster_id``).
    """

    def __init__(
        self, n_words: int = 3, separator: str = " · ", fallback: str = "cluster {cluster_id}"
    ):
        self.n_words = n_words
        self.separator = separator
        self.fallback = fallback

    def name(self, explanation: ClusterExplanation) -> str:
        chosen: list[str] = []
        seen_words: set[str] = set()
        for keyword in explanation.keywords:
            words = [_singular(word) for word in keyword.term.split()]
            if all(word in seen_words for word in words):
                continue
            chosen.append(keyword.term)
            seen_words.update(words)
            if len(chosen) == self.n_words:
                break
        if not chosen:
            return self.fallback.format(cluster_id=explanation.cluster_id)
        return self.separator.join(chosen)


class StaticNamer:
    """Test double: fixed names by cluster id (else ``default``), recording which it named."""

    def __init__(
        self, names: Mapping[int, str] | None = None, default: str = "cluster {cluster_id}"
    ):
        self.names = names
        self.default = default
        self.calls: list[int] = []

    def name(self, explanation: ClusterExplanation) -> str:
        self.calls.append(explanation.cluster_id)
        names = self.names or {}
        if explanation.cluster_id in names:
            return names[explanation.cluster_id]
        return self.default.format(cluster_id=explanation.cluster_id)


SYSTEM_PROMPT = (
    "You name groups of users of a recommender system after what they like. "
    "Answer with one label of 2 to 5 words and nothing else."
)


class OpenAICompatibleNamer:
    """Asks a chat model behind an OpenAI-compatible ``/chat/completions`` endpoint for a label.

    Works with OpenAI, vLLM, llama.cpp server, Ollama (``http://localhost:11434/v1``) and the
    like. ``api_key`` is sent as ``Authorization: Bearer …`` when given. Failures raise
    :class:`NamerError`; nothing falls back silently.

    ``client``: the :class:`httpx.Client` that sends the requests (tests pass one with an
    :class:`httpx.MockTransport`); None builds one on first use. ``timeout`` applies to each
    request either way.
    """

    def __init__(
        self,
        base_url: str | None,
        model: str | None,
        api_key: str | None = None,
        timeout: float = 10.0,
        *,
        temperature: float = 0.0,
        max_tokens: int = 24,
        n_keywords: int = 10,
        n_titles: int = 5,
        client: httpx.Client | None = None,
    ):
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"namer base_url={base_url!r}",
                expected="the URL of an OpenAI-compatible API, e.g. 'http://localhost:8000/v1'",
                fix="set the namer's base_url (the part before /chat/completions)",
            )
        if not model:
            raise ConfigError(
                f"namer model={model!r}",
                expected="the name of a chat model the server serves",
                fix="set the namer's model, e.g. 'gpt-4o-mini' or 'llama3.1'",
            )
        if not timeout > 0:
            raise ConfigError(
                f"namer timeout={timeout!r}",
                expected="a number of seconds > 0",
                fix="set the namer's timeout to a positive number",
            )
        self.base_url = base_url
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.n_keywords = n_keywords
        self.n_titles = n_titles
        self.client = client

    def __repr__(self) -> str:  # never print the key
        key = "'***'" if self.api_key else None
        return (
            f"OpenAICompatibleNamer(base_url={self.base_url!r}, model={self.model!r}, "
            f"api_key={key})"
        )

    def _own_client(self) -> httpx.Client:
        # one client (one connection pool) for every cluster this namer names
        client = getattr(self, "_client", None)
        if client is None:
            client = self._client = httpx.Client()
        return client

    @property
    def endpoint(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    def prompt(self, explanation: ClusterExplanation) -> str:
        keywords = ", ".join(k.term for k in explanation.keywords[: self.n_keywords])
        central = "; ".join(i.title for i in explanation.central_items[: self.n_titles])
        favoured = "; ".join(i.title for i in explanation.over_represented_items[: self.n_titles])
        lines = [f"A group of {explanation.size} users."]
        lines.append(f"Distinctive keywords, most distinctive first: {keywords or '(none)'}.")
        if central:
            lines.append(f"Items typical of the group: {central}.")
        if favoured:
            lines.append(f"Items the group likes far more than other users do: {favoured}.")
        lines.append("Reply with one label of 2 to 5 words, without quotes or explanation.")
        return "\n".join(lines)

    def request_body(self, explanation: ClusterExplanation) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": self.prompt(explanation)},
            ],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }

    def name(self, explanation: ClusterExplanation) -> str:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        where = f"POST {self.endpoint}"
        client = self.client if self.client is not None else self._own_client()
        try:
            response = client.post(
                self.endpoint,
                json=self.request_body(explanation),
                headers=headers,
                timeout=self.timeout,
            )
        except httpx.TimeoutException as exc:
            raise NamerError(
                f"{where} got no answer within timeout={self.timeout}s ({type(exc).__name__})",
                expected="a chat completion from the naming model",
                fix="check that the server is up and not overloaded, or raise the namer's timeout",
            ) from exc
        except httpx.HTTPError as exc:
            raise NamerError(
                f"{where} failed: {type(exc).__name__}: {exc}",
                expected="an OpenAI-compatible server listening at base_url",
                fix="start the server or correct the namer's base_url",
            ) from exc
        if response.status_code != 200:
            raise NamerError(
                f"{where} answered HTTP {response.status_code}: {response.text[:300]!r}",
                expected="HTTP 200 with a chat completion",
                fix="check the model name, the API key and the server's log",
            )
        return _label_from_completion(response, where)


def _label_from_completion(response: httpx.Response, where: str) -> str:
    try:
        body = response.json()
    except ValueError as exc:
        raise NamerError(
            f"{where} answered text that is not JSON: {response.text[:300]!r}",
            expected="a JSON chat completion",
            fix="check that base_url points at an OpenAI-compatible API (usually ending in /v1)",
        ) from exc
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise NamerError(
            f"{where} answered JSON without choices[0].message.content: {str(body)[:300]}",
            expected="an OpenAI chat completion object",
            fix="check that base_url points at an OpenAI-compatible /chat/completions API",
        ) from exc
    label = clean_label(content) if isinstance(content, str) else ""
    if not label:
        raise NamerError(
            f"{where} answered an empty label ({content!r})",
            expected="a label of 2 to 5 words",
            fix="try another model, or name clusters with KeywordNamer",
        )
    return label


_THINKING = re.compile(r"<think>.*?</think>", flags=re.DOTALL | re.IGNORECASE)
_PREFIX = re.compile(r"^(label|name)\s*:\s*", flags=re.IGNORECASE)


def clean_label(text: str) -> str:
    """First non-empty line of a model's answer without quotes, 'Label:' or a final period."""
    text = _THINKING.sub("", text)
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    line = _PREFIX.sub("", line)
    line = line.strip(" \t\"'`“”‘’*")
    return line.rstrip(".").strip()


def _singular(word: str) -> str:
    # crude on purpose: enough to keep "trail" and "trails" out of the same label
    lowered = word.lower()
    if len(lowered) > 3 and lowered.endswith("s") and not lowered.endswith("ss"):
        return lowered[:-1]
    return lowered
