"""Item and user texts as dense (encoder) and lexical (TF-IDF) unit vectors.

Dense vectors carry meaning (synonyms, paraphrases); TF-IDF carries the rare exact words (names,
franchises, years) that dense encoders blur. The *joint* space stacks the dense vector and a
latent-semantic (truncated SVD) projection of the TF-IDF vector, each at unit length, so one
cosine uses both; it feeds the text-to-behaviour mappings of cold items.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from interestlens.embed.base import Encoder, l2_normalise
from interestlens.errors import ModelFormatError, ParameterError

#: user texts are split into parts on this separator (one review per line in load_amazon); each
#: part is encoded on its own and the parts are averaged, so long histories are not truncated
PART_SEPARATOR = "\n"
#: the TF-IDF settings of every text space (saved models rebuild the vectorizer from them)
TFIDF_SETTINGS: dict[str, object] = {
    "sublinear_tf": True,
    "stop_words": "english",
    "dtype": np.float32,
}


class TextSpace:
    """Dense, lexical and joint unit vectors of the item texts; the same for user texts.

    ``lsa_components`` bounds the truncated SVD of the TF-IDF matrix used in the joint space.
    Empty texts give all-zero rows in every space. ``encoder`` may be None for a space loaded
    without its encoder: everything already encoded works, new text raises
    :class:`ParameterError`.
    """

    def __init__(
        self,
        encoder: Encoder | None,
        *,
        lsa_components: int = 128,
        random_state: int = 0,
    ):
        self.encoder = encoder
        self.lsa_components = lsa_components
        self.random_state = random_state

    def fit(self, item_texts: Sequence[str]) -> TextSpace:
        texts = list(item_texts)
        self.encoder_identifier_ = self.require_encoder().identifier
        self.vectorizer_ = TfidfVectorizer(**TFIDF_SETTINGS)
        try:
            lexical = self.vectorizer_.fit_transform(texts)
        except ValueError as exc:  # sklearn's "empty vocabulary"
            raise ParameterError(
                f"no vocabulary could be learned from the {len(texts)} item texts ({exc})",
                expected="item texts containing words",
                fix="check the item text column, or fit without item_texts",
            ) from exc
        self.lexical_ = sp.csr_matrix(lexical, dtype=np.float32)
        self.dense_ = self._encode(texts)
        n_components = min(self.lsa_components, self.lexical_.shape[1] - 1, len(texts) - 1)
        #: (n_components, n_terms) LSA axes: the joint space of texts encoded later
        self.lsa_axes_: np.ndarray | None = None
        if n_components >= 1:
            lsa = TruncatedSVD(n_components, random_state=self.random_state)
            latent = lsa.fit_transform(self.lexical_)
            self.lsa_axes_ = lsa.components_.astype(np.float32)
        else:
            latent = np.zeros((len(texts), 1), dtype=np.float32)
        self.joint_ = joint(self.dense_, l2_normalise(latent))
        self.richness_ = richness(self.lexical_)
        return self

    def add_items(self, texts: Sequence[str]) -> None:
        """Append items encoded like the fitted ones (dense, TF-IDF with the fitted vocabulary,
        LSA projection into the joint space)."""
        texts = list(texts)
        dense = self._encode(texts)
        lexical = sp.csr_matrix(self.vectorizer_.transform(texts), dtype=np.float32)
        self.dense_ = np.vstack([self.dense_, dense])
        self.lexical_ = sp.vstack([self.lexical_, lexical], format="csr", dtype=np.float32)
        self.joint_ = np.vstack([self.joint_, self.joint_users(dense, lexical)])
        self.richness_ = np.vstack([self.richness_, richness(lexical)])

    # --- state ---------------------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray | sp.csr_matrix]]:
        """JSON-able settings (TF-IDF settings, vocabulary in column order, the encoder's
        identifier) and the arrays (``dense``, ``lexical``, ``joint``, ``richness``, ``idf``
        and, when fitted, ``lsa_axes``); :meth:`from_state` rebuilds the space from them."""
        tfidf: dict[str, Any] = {}
        for key, value in self.vectorizer_.get_params().items():
            if key == "dtype":
                value = np.dtype(value).name
            elif isinstance(value, tuple):
                value = list(value)
            if value is not None and not isinstance(value, str | bool | int | float | list):
                raise ParameterError(
                    f"the TF-IDF setting {key}={value!r} cannot be saved as JSON",
                    expected="TF-IDF settings made of strings, numbers and lists",
                    fix="keep the TF-IDF settings of TextSpace (TFIDF_SETTINGS)",
                )
            tfidf[key] = value
        vocabulary = self.vectorizer_.vocabulary_
        meta = {
            "lsa_components": int(self.lsa_components),
            "random_state": int(self.random_state),
            "tfidf": tfidf,
            "vocabulary": sorted(vocabulary, key=vocabulary.get),
            "encoder_identifier": self.encoder_identifier_,
        }
        arrays: dict[str, np.ndarray | sp.csr_matrix] = {
            "dense": self.dense_,
            "lexical": self.lexical_,
            "joint": self.joint_,
            "richness": self.richness_,
            "idf": np.asarray(self.vectorizer_.idf_),
        }
        if self.lsa_axes_ is not None:
            arrays["lsa_axes"] = self.lsa_axes_
        return meta, arrays

    @classmethod
    def from_state(
        cls,
        meta: dict[str, Any],
        arrays: dict[str, Any],
        encoder: Encoder | None,
        *,
        source: str = "the text space state",
    ) -> TextSpace:
        """The space :meth:`state` described; ``encoder`` None: new text raises
        :class:`ParameterError` until :meth:`set_encoder`. Settings scikit-learn refuses and
        repeated terms raise :class:`ModelFormatError` naming ``source``."""
        space = cls(
            encoder,
            lsa_components=int(meta["lsa_components"]),
            random_state=int(meta["random_state"]),
        )
        tfidf = dict(meta["tfidf"])
        tfidf["dtype"] = np.dtype(tfidf["dtype"]).type
        if isinstance(tfidf.get("ngram_range"), list):
            tfidf["ngram_range"] = tuple(tfidf["ngram_range"])
        try:
            vectorizer = TfidfVectorizer(**tfidf)
        except TypeError as exc:
            raise ModelFormatError(
                f"{source} has TF-IDF settings this scikit-learn refuses ({exc})",
                expected="the settings of TfidfVectorizer",
                fix="fit the model again and save it",
            ) from None
        terms = [str(term) for term in meta["vocabulary"]]
        vocabulary = {term: i for i, term in enumerate(terms)}
        if len(vocabulary) != len(terms):
            raise ModelFormatError(
                f"{source} repeats TF-IDF terms",
                expected="distinct TF-IDF terms in column order",
                fix="fit the model again and save it",
            )
        vectorizer.vocabulary_ = vocabulary
        vectorizer.idf_ = arrays["idf"]
        space.vectorizer_ = vectorizer
        space.encoder_identifier_ = meta["encoder_identifier"]
        space.dense_ = arrays["dense"]
        space.lexical_ = sp.csr_matrix(arrays["lexical"])
        space.joint_ = arrays["joint"]
        space.richness_ = arrays["richness"]
        space.lsa_axes_ = arrays.get("lsa_axes")
        if encoder is not None:
            space.set_encoder(encoder)
        return space

    def set_encoder(self, encoder: Encoder) -> None:
        """Give a space built without its encoder the one it was fitted with
        (:class:`ModelFormatError` for any other identifier)."""
        check_encoder(self.encoder_identifier_, encoder, "this InterestRecommender")
        self.encoder = encoder

    def require_encoder(self) -> Encoder:
        if self.encoder is None:
            raise ParameterError(
                "this model was loaded without its text encoder (saved: "
                f"{getattr(self, 'encoder_identifier_', None)!r}), so new text cannot be encoded",
                expected="the encoder the model was fitted with, for new texts (score_new with "
                "texts, add_items)",
                fix="InterestRecommender.load(directory, encoder=<the encoder it was fitted with>)",
            )
        return self.encoder

    def _encode(self, texts: list[str]) -> np.ndarray:
        encoder = self.require_encoder()
        vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
        filled = [i for i, text in enumerate(texts) if text.strip()]
        if filled:
            vectors[filled] = encoder.encode([texts[i] for i in filled])
        return l2_normalise(vectors)

    def encode_users(self, texts: Sequence[str]) -> tuple[np.ndarray, sp.csr_matrix]:
        """Dense (mean of the encoded parts) and lexical unit vectors of user texts."""
        texts = list(texts)
        self.require_encoder()
        parts = [[p for p in t.split(PART_SEPARATOR) if p.strip()] for t in texts]
        unique = list(dict.fromkeys(p for user_parts in parts for p in user_parts))
        dense = np.zeros((len(texts), self.dense_.shape[1]), dtype=np.float32)
        if unique:
            position = {text: i for i, text in enumerate(unique)}
            encoded = self._encode(unique)
            rows = np.repeat(np.arange(len(texts)), [len(p) for p in parts])
            cols = np.array([position[p] for user_parts in parts for p in user_parts], dtype=int)
            mean = sp.csr_matrix(
                (np.ones(len(rows), dtype=np.float32), (rows, cols)),
                shape=(len(texts), len(unique)),
            )
            dense = l2_normalise(mean @ encoded)
        lexical = sp.csr_matrix(self.vectorizer_.transform(texts), dtype=np.float32)
        return dense, lexical

    def _lsa_columns(self) -> np.ndarray:
        """``lsa_axes_.T`` as a C-ordered copy, made once: scipy copies a non-contiguous dense
        operand on every sparse product (vocabulary × components floats per request)."""
        assert self.lsa_axes_ is not None
        columns = getattr(self, "_lsa_columns_cache", None)
        if columns is None or columns.shape != self.lsa_axes_.T.shape:
            columns = np.ascontiguousarray(self.lsa_axes_.T)
            self._lsa_columns_cache = columns
        return columns

    def joint_users(self, dense: np.ndarray, lexical: sp.csr_matrix) -> np.ndarray:
        """User vectors in the joint item space (for text-to-item similarity)."""
        if self.lsa_axes_ is None:
            latent = np.zeros((dense.shape[0], 1), dtype=np.float32)
        else:
            latent = np.asarray(lexical @ self._lsa_columns(), dtype=np.float32)
        return joint(dense, l2_normalise(latent))


def richness(lexical: sp.csr_matrix) -> np.ndarray:
    """``(n, 1)`` log(1 + distinct words): how much a catalogue entry says about itself (richer
    entries tend to be the popular ones)."""
    words = np.asarray((lexical > 0).sum(axis=1)).ravel()
    return np.log1p(words).astype(np.float32)[:, None]


def joint(dense: np.ndarray, latent: np.ndarray) -> np.ndarray:
    """Dense and latent-lexical unit vectors side by side, scaled so the pair has unit length."""
    return (np.hstack([dense, latent]) / np.sqrt(2.0)).astype(np.float32)


def unit_rows(matrix: sp.spmatrix | np.ndarray) -> sp.csr_matrix | np.ndarray:
    if sp.issparse(matrix):
        return sp.csr_matrix(normalize(matrix), dtype=np.float32)
    return l2_normalise(np.asarray(matrix))


def check_encoder(identifier: str | None, encoder: Encoder, model: str) -> None:
    """:class:`ModelFormatError` unless ``encoder`` is the one a model with text was fitted
    with (``identifier`` None: the model has no text, any encoder will do)."""
    if identifier is not None and encoder.identifier != identifier:
        raise ModelFormatError(
            f"{model} was fitted with encoder {identifier!r}; the encoder given has identifier "
            f"{encoder.identifier!r}",
            expected="the encoder the model was fitted with",
            fix=f"pass the encoder the model was fitted with (identifier {identifier!r})",
        )
