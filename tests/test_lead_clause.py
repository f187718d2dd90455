"""The first clause of a user's text, weighed once more where the text bridge learns better
with it (issue 9: bio-only users placed in their interest's cluster)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from interestlens import InterestLens
from interestlens.config import Settings
from interestlens.data.schema import USER_ID
from interestlens.data.synthetic import make_demo_dataset
from interestlens.embed.hashing import HashingEncoder
from interestlens.errors import ModelFormatError, ParameterError
from interestlens.model_dir.checksums import update_checksums
from interestlens.represent import (
    LEAD_WEIGHT,
    TextInterestBridge,
    WeightedMeanInterests,
    bridge_report,
    describe_bridge,
    emphasise_lead,
    lead_vectors,
)
from interestlens.text import lead_clause


@pytest.mark.parametrize(
    ("text", "lead"),
    [
        (
            "bio: Five-a-side regular and landscape photographer from Wellington.",
            "bio: Five-a-side regular",
        ),
        ("bio: I love magic systems. Long-distance walker.", "bio: I love magic systems."),
        ("The Premier League, landscape photography and good coffee.", "The Premier League"),
        ("Board games & pets", "Board games"),
        ("热爱理财，尤其是投资。", "热爱理财"),
        ("我喜欢理财。更多", "我喜欢理财。"),
        ("age: 24\ngender: male\noccupation: technician", "age: 24"),
        # a colon follows a column name; a Latin stop ends a sentence only before a space
        (
            "Meine Leidenschaft: Fußball und die Bundesliga.",
            "Meine Leidenschaft: Fußball und die Bundesliga.",
        ),
        ("rated 3.5 stars", "rated 3.5 stars"),
        ("Rust fan.", "Rust fan."),
        # clauses without a word are skipped, a text without one has no lead
        (", ; Jazz on vinyl", "Jazz on vinyl"),
        ("", ""),
        ("  ...  ", ""),
        ("，，。", ""),
    ],
)
def test_lead_clause_known_answers(text: str, lead: str) -> None:
    assert lead_clause(text) == lead


def test_lead_clause_of_a_huge_text_without_a_break_is_the_whole_text() -> None:
    text = "word " * 100_000
    assert lead_clause(text) == text.strip()


def test_emphasise_lead_is_the_unit_sum_and_keeps_texts_without_a_lead() -> None:
    text = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    lead = np.array([[0.0, 5.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    got = emphasise_lead(text, lead)
    assert LEAD_WEIGHT == 1.0
    np.testing.assert_allclose(got[0], [2**-0.5, 2**-0.5, 0.0], atol=1e-6)
    np.testing.assert_allclose(got[1], [0.0, 1.0, 0.0], atol=1e-6)
    np.testing.assert_array_equal(got[2], [0.0, 0.0, 0.0])
    with pytest.raises(ParameterError, match=r"one first-clause vector per text vector"):
        emphasise_lead(text, lead[:2])


class CountingEncoder(HashingEncoder):
    """The hashing encoder, recording every text it is asked to encode."""

    def __init__(self) -> None:
        super().__init__(seed=0)
        self.seen: list[str] = []

    def encode(self, texts, **kwargs):  # type: ignore[no-untyped-def]
        self.seen.extend(texts)
        return super().encode(texts, **kwargs)


def test_lead_vectors_encode_only_the_clauses_that_differ_from_their_text() -> None:
    encoder = CountingEncoder()
    texts = ["Rust fan.", "Chess player and dog walker", "", "Jazz, vinyl"]
    own = encoder.encode(texts)
    encoder.seen.clear()
    got = lead_vectors(encoder, texts, own)
    assert encoder.seen == ["Chess player", "Jazz"]
    np.testing.assert_allclose(got[0], own[0] / np.linalg.norm(own[0]), atol=1e-6)
    np.testing.assert_array_equal(got[2], np.zeros(own.shape[1]))
    expected = encoder.encode(["Chess player"])[0]
    np.testing.assert_allclose(got[1], expected / np.linalg.norm(expected), atol=1e-6)


def two_interest_world(lead_is_primary: bool, n_users: int = 120, seed: int = 0):
    """Users whose history is their primary interest; their text names it and a second one.
    With ``lead_is_primary`` the first clause is the primary interest, else random noise."""
    rng = np.random.default_rng(seed)
    dimension, n_interests = 24, 6
    interests = np.linalg.qr(rng.normal(size=(dimension, dimension)))[0][:n_interests]
    primary = rng.integers(n_interests, size=n_users)
    secondary = (primary + 1 + rng.integers(n_interests - 1, size=n_users)) % n_interests
    history = interests[primary] + 0.05 * rng.normal(size=(n_users, dimension))
    text = interests[primary] + interests[secondary] + 0.05 * rng.normal(size=(n_users, dimension))
    if lead_is_primary:
        lead = interests[primary] + 0.05 * rng.normal(size=(n_users, dimension))
    else:
        lead = rng.normal(size=(n_users, dimension))
    return history, text, lead, primary


def fit_representer(history, text, lead) -> WeightedMeanInterests:
    """Users 0..n-21 have history and text; the last 20 have text only."""
    n_users = len(history)
    with_history = n_users - 20
    item_vectors = history[:with_history].astype(np.float32)
    return WeightedMeanInterests(half_life_days=None, bridge=TextInterestBridge()).fit(
        np.arange(with_history),
        np.arange(with_history),
        item_vectors,
        n_users=n_users,
        user_text_vectors=text.astype(np.float32),
        user_lead_vectors=None if lead is None else lead.astype(np.float32),
    )


def test_the_first_clause_is_weighed_in_where_it_names_what_the_history_shows() -> None:
    history, text, lead, _ = two_interest_world(lead_is_primary=True)
    fitted = fit_representer(history, text, lead)
    assert fitted.lead_weight_ == LEAD_WEIGHT
    trial = fitted.lead_trial_
    assert trial is not None and trial["loo_mse_with"] < trial["loo_mse_without"]
    np.testing.assert_allclose(fitted.text_vectors_, emphasise_lead(text, lead), atol=1e-6)
    # the text-only users land nearer their primary interest than without the clause
    plain = fit_representer(history, text, None)
    assert plain.lead_weight_ == 0.0 and plain.lead_trial_ is None
    target = history[-20:] / np.linalg.norm(history[-20:], axis=1, keepdims=True)
    with_lead = np.sum(fitted.vectors_[-20:] * target, axis=1).mean()
    without = np.sum(plain.vectors_[-20:] * target, axis=1).mean()
    assert with_lead > without
    report = bridge_report(fitted)
    assert report["lead_clause"] == "weighed" and report["users"] == 100
    assert "first clause weighed in" in describe_bridge(report)
    # the choice survives state() / from_state()
    meta, arrays = fitted.state()
    assert WeightedMeanInterests.from_state(meta, arrays).lead_weight_ == LEAD_WEIGHT


def test_a_first_clause_that_says_nothing_is_left_out() -> None:
    history, text, lead, _ = two_interest_world(lead_is_primary=False)
    fitted = fit_representer(history, text, lead)
    assert fitted.lead_weight_ == 0.0
    trial = fitted.lead_trial_
    assert trial is not None and trial["loo_mse_with"] >= trial["loo_mse_without"]
    np.testing.assert_allclose(
        fitted.text_vectors_, text / np.linalg.norm(text, axis=1, keepdims=True), atol=1e-6
    )
    assert "first clause not weighed in" in describe_bridge(bridge_report(fitted))


def test_too_few_users_to_learn_from_try_nothing() -> None:
    history, text, lead, _ = two_interest_world(lead_is_primary=True, n_users=35)
    fitted = fit_representer(history, text, lead)  # 15 users with both: fewer than 20
    assert not fitted.bridge_.fitted_
    assert fitted.lead_weight_ == 0.0 and fitted.lead_trial_ is None
    assert describe_bridge(bridge_report(fitted)).startswith("not fitted: 15 users")


@pytest.fixture(scope="module")
def bio_model(tmp_path_factory):
    """The demo with bio-only users, fitted with the hashing encoder, and saved."""
    dataset, _ = make_demo_dataset(seed=0, n_items=150, n_users=300, bio_only_share=0.2)
    settings = Settings.model_validate(
        {"encoder": {"cache": False}, "recommend": {"tune": False}, "cluster": {"k": 6}}
    )
    model = InterestLens(settings, encoder=HashingEncoder(seed=0)).fit(dataset)
    path = model.save(tmp_path_factory.mktemp("lead") / "model")
    return model, dataset, path


def test_fit_reports_the_choice_and_the_saved_model_keeps_it(bio_model) -> None:
    model, dataset, path = bio_model
    report = model.report_.text_bridge
    assert report["fitted"] and report["lead_clause"] in {"weighed", "not weighed"}
    assert report == model.report_.to_dict()["text_bridge"]
    chosen = model.representer_.lead_weight_
    assert chosen == (LEAD_WEIGHT if report["lead_clause"] == "weighed" else 0.0)
    loaded = InterestLens.load(path)
    assert loaded.representer_.lead_weight_ == chosen
    texts = dataset.users["bio"].tolist()[:40]
    encoder = HashingEncoder(seed=0)
    np.testing.assert_allclose(
        loaded.user_text_vectors(texts, encoder=encoder),
        model.user_text_vectors(texts, encoder=encoder),
        atol=1e-6,
    )
    # what the model placed its users with is what it places the same texts with now
    users = dataset.users.set_index(USER_ID).reindex(model.user_ids_.ids)
    full = [f"bio: {bio}" if bio.strip() else "" for bio in users["bio"].fillna("")]
    np.testing.assert_allclose(
        model.user_text_vectors(full, encoder=encoder), model.user_text_vectors_, atol=1e-5
    )


def test_the_weighed_clause_is_the_model_the_new_text_is_placed_with() -> None:
    dataset, _ = make_demo_dataset(seed=0, n_items=150, n_users=300, bio_only_share=0.2)
    settings = Settings.model_validate(
        {"encoder": {"cache": False}, "recommend": {"enabled": False}, "cluster": {"k": 6}}
    )
    model = InterestLens(settings, encoder=HashingEncoder(seed=0)).fit(dataset)
    model.representer_.lead_weight_ = LEAD_WEIGHT  # whatever the fit chose, weigh it now
    text = "Five-a-side regular and landscape photographer"
    encoder = HashingEncoder(seed=0)
    both = encoder.encode([text, "Five-a-side regular"])
    expected = model.representer_.transform_one(
        np.array([], dtype=np.int64),
        model.item_vectors_,
        text_vector=emphasise_lead(both[:1], both[1:])[0],
    )
    got = model.transform(pd.DataFrame({"text": [text]}), encoder=encoder)[0]
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_fit_without_the_clause_tries_nothing() -> None:
    dataset, _ = make_demo_dataset(seed=0, n_items=150, n_users=300, bio_only_share=0.2)
    settings = Settings.model_validate(
        {
            "encoder": {"cache": False},
            "recommend": {"enabled": False},
            "cluster": {"k": 6},
            "interests": {"lead_clause": False},
        }
    )
    encoder = CountingEncoder()
    model = InterestLens(settings, encoder=encoder).fit(dataset)
    assert model.report_.text_bridge["lead_clause"] == "not tried"
    assert model.representer_.lead_weight_ == 0.0
    assert not any(text.endswith("regular") for text in encoder.seen)
    bios = {f"bio: {b}" for b in dataset.users["bio"] if b.strip()}
    assert set(encoder.seen) <= bios | set(model.item_texts_)


@pytest.mark.parametrize("damage", ["heavy", -1, 11, True, None, [1.0]])
def test_a_damaged_lead_weight_in_the_manifest_is_refused(bio_model, tmp_path, damage) -> None:
    import shutil

    _, _, path = bio_model
    copy = tmp_path / "model"
    shutil.copytree(path, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["represent"]["lead_weight"] = damage
    (copy / "manifest.json").write_text(json.dumps(manifest))
    update_checksums(copy, ["manifest.json"])  # past the checksums, to the reader's own check
    with pytest.raises(ModelFormatError, match=r"represent\.lead_weight .*fit the model again"):
        InterestLens.load(copy)


def test_a_model_saved_before_the_clause_could_be_weighed_loads_without_it(
    bio_model, tmp_path
) -> None:
    import shutil

    _, _, path = bio_model
    copy = tmp_path / "model"
    shutil.copytree(path, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["represent"]["lead_weight"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    update_checksums(copy, ["manifest.json"])
    assert InterestLens.load(copy).representer_.lead_weight_ == 0.0


def test_the_report_says_what_the_bridge_chose_for_a_fitted_and_a_loaded_model(
    bio_model, tmp_path
) -> None:
    import html

    from interestlens.report import write_report

    model, _, path = bio_model
    expected = describe_bridge(model.report_.text_bridge)
    assert expected.startswith("learned from")
    for which, shown in (("fitted", model), ("loaded", InterestLens.load(path))):
        out = write_report(shown, tmp_path / f"{which}.html")
        page = html.unescape(out.read_text())
        assert "text bridge" in page and expected in page, which


def test_a_new_persons_text_and_its_first_clause_take_one_encoder_pass(bio_model) -> None:
    from interestlens.engine import RecommendationEngine

    model = InterestLens.load(bio_model[2])  # a copy of its own, changed below
    model.representer_.lead_weight_ = LEAD_WEIGHT  # whatever the fit chose, weigh it now
    calls: list[list[str]] = []

    class Recording(HashingEncoder):
        def encode(self, texts, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(list(texts))
            return super().encode(texts, **kwargs)

    engine = RecommendationEngine.from_model(model, encoder=Recording(seed=0))
    text = "Five-a-side regular and landscape photographer"
    listed = engine.recommend_new(text=text, k=5)
    assert len(listed) == 5
    assert calls == [[text, "Five-a-side regular"]]


def test_the_recommender_learns_from_the_plain_vectors_it_gets_for_new_text(bio_model) -> None:
    """The first clause is the represent stage's choice: the recommender's own user-text
    vectors stay the encoder's answer for each text, as for new text when it serves."""
    model, _, _ = bio_model
    assert model.representer_.lead_weight_ == LEAD_WEIGHT  # the fixture's fit weighed it
    dense, _ = model.recommender_.user_text_
    written = [i for i, text in enumerate(model.user_texts_) if text.strip()]
    plain = HashingEncoder(seed=0).encode([model.user_texts_[i] for i in written])
    plain /= np.linalg.norm(plain, axis=1, keepdims=True)
    np.testing.assert_allclose(dense[written], plain, atol=1e-5)
    # while the users were placed with their first clause weighed in
    assert not np.allclose(model.user_text_vectors_[written], plain, atol=1e-3)


def test_first_clause_vectors_of_the_wrong_shape_are_refused() -> None:
    history, text, lead, _ = two_interest_world(lead_is_primary=True)
    with pytest.raises(ParameterError, match=r"user_lead_vectors of shape \(119, 24\)"):
        fit_representer(history, text, lead[:-1])
    with pytest.raises(ParameterError, match=r"one first-clause vector per user"):
        fit_representer(history, text, lead[:, :5])
