"""Demo variants: users known only by a bio (short and non-English bios), weak attributes,
attributes without bios, their truth, files and command; the defaults stay as they were."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from interestlens import load_dataset
from interestlens.cli import main
from interestlens.data.schema import ITEM_ID, USER_ID
from interestlens.data.synthetic import (
    DemoTruth,
    make_demo_dataset,
    read_demo_truth,
    write_demo_files,
)
from interestlens.data.synthetic.attributes import (
    AGE_BANDS,
    GENDERS,
    GENERIC_OCCUPATIONS,
    THEME_OCCUPATIONS,
)
from interestlens.data.synthetic.prose import SHORT_BIO_TEMPLATES
from interestlens.data.synthetic.vocab.languages import FOREIGN_TOPICS
from interestlens.errors import DataFormatError, MissingColumnsError, ParameterError

SIZES = dict(seed=0, n_items=120, n_users=200, n_themes=6)


@pytest.fixture(scope="module")
def plain():
    return make_demo_dataset(**SIZES)


@pytest.fixture(scope="module")
def bio_only():
    return make_demo_dataset(**SIZES, bio_only_share=0.2, foreign_bio_share=0.25)


def test_the_variants_leave_everything_else_as_it_was(plain, bio_only):
    dataset, truth = plain
    variant, variant_truth = bio_only
    pd.testing.assert_frame_equal(variant.items, dataset.items)
    kept = dataset.interactions[~dataset.interactions[USER_ID].isin(variant_truth.bio_only_users)]
    pd.testing.assert_frame_equal(variant.interactions, kept.reset_index(drop=True))
    others = ~dataset.users[USER_ID].isin(variant_truth.bio_only_users)
    pd.testing.assert_frame_equal(variant.users[others], dataset.users[others])
    assert variant_truth.user_themes == truth.user_themes
    assert truth.bio_only_users == [] and "bio_only_users" not in dataset.notes
    assert variant.notes["bio_only_users"] == 40


def test_bio_only_users_have_a_bio_no_interactions_and_known_interests(bio_only):
    dataset, truth = bio_only
    assert len(truth.bio_only_users) == round(0.2 * 200)
    assert truth.bio_only_users == sorted(truth.bio_only_users)
    assert not dataset.interactions[USER_ID].isin(truth.bio_only_users).any()
    with_history = set(dataset.interactions[USER_ID])
    assert with_history | set(truth.bio_only_users) == set(dataset.users[USER_ID])
    bios = dataset.users.set_index(USER_ID).loc[truth.bio_only_users, "bio"]
    assert (bios.str.strip() != "").all()
    assert set(truth.bio_only_users) <= set(truth.user_primary_theme)
    assert truth.primary_labels(truth.bio_only_users).shape == (40,)


def test_bio_only_bios_are_short_long_or_foreign_and_about_the_primary_theme():
    dataset, truth = make_demo_dataset(**SIZES, bio_only_share=0.5, foreign_bio_share=0.3)
    bios = dataset.users.set_index(USER_ID).loc[truth.bio_only_users, "bio"]
    foreign = [
        (user, bio)
        for user, bio in bios.items()
        if any(
            word in bio
            for topics in FOREIGN_TOPICS[truth.user_primary_theme[user]].values()
            for word in topics
        )
    ]
    assert 0.15 * len(bios) < len(foreign) < 0.45 * len(bios)
    assert any(not bio.isascii() for _, bio in foreign)  # Chinese or accented words
    short = [bio for bio in bios if len(bio.split()) <= 6 and bio.isascii()]
    assert len(short) > 0.2 * len(bios)
    assert any(bio.startswith("Into ") and ", especially " in bio for bio in short)
    assert len(SHORT_BIO_TEMPLATES) == 5


def test_only_foreign_bios():
    dataset, truth = make_demo_dataset(**SIZES, bio_only_share=0.1, foreign_bio_share=1.0)
    bios = dataset.users.set_index(USER_ID).loc[truth.bio_only_users, "bio"]
    for user, bio in bios.items():
        words = FOREIGN_TOPICS[truth.user_primary_theme[user]]
        assert any(topics[0] in bio for topics in words.values()), (user, bio)


def test_weak_attributes_columns_and_values():
    dataset, truth = make_demo_dataset(**SIZES, attribute_strength=0.3)
    users = dataset.users
    assert users.columns.tolist() == [USER_ID, "bio", "age_band", "gender", "occupation"]
    assert set(users["age_band"]) <= set(AGE_BANDS)
    assert set(users["gender"]) <= set(GENDERS)
    names = truth.theme_names
    allowed = set(GENERIC_OCCUPATIONS) | {job for n in names for job in THEME_OCCUPATIONS[n]}
    assert set(users["occupation"]) <= allowed
    assert users.notna().all().all()
    assert dataset.notes["attribute_strength"] == 0.3


def _own_occupation_share(strength: float) -> float:
    dataset, truth = make_demo_dataset(**SIZES, attribute_strength=strength)
    own = [
        job in THEME_OCCUPATIONS[truth.user_primary_theme[user]]
        for user, job in zip(dataset.users[USER_ID], dataset.users["occupation"], strict=True)
    ]
    return float(np.mean(own))


def test_strength_ties_occupation_to_the_primary_theme():
    # with 6 themes there are 10 + 12 occupations, 2 of them the user's own: 1/11 by chance
    assert _own_occupation_share(1.0) == 1.0
    assert _own_occupation_share(0.0) < 0.2
    assert 0.3 < _own_occupation_share(0.5) < 0.7


def test_attributes_without_bios():
    dataset, _ = make_demo_dataset(**SIZES, attribute_strength=0.3, bios=False)
    assert dataset.users.columns.tolist() == [USER_ID, "age_band", "gender", "occupation"]
    assert dataset.notes["bios"] is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bio_only_share": 1.0}, "bio_only_share=1.0 is out of range"),
        ({"bio_only_share": -0.1}, "bio_only_share=-0.1 is out of range"),
        ({"bio_only_share": float("nan")}, "bio_only_share=nan is out of range"),
        ({"bio_only_share": "0.2"}, "bio_only_share='0.2' is not a number"),
        ({"foreign_bio_share": 1.5}, "foreign_bio_share=1.5 is out of range"),
        ({"attribute_strength": 2}, "attribute_strength=2 is out of range"),
        ({"attribute_strength": True}, "attribute_strength=True is not a number"),
        ({"bios": False}, "bios=False without attribute_strength"),
        ({"bios": False, "bio_only_share": 0.2, "attribute_strength": 0.3}, "bios=False with"),
        ({"bios": "no"}, "bios='no'"),
    ],
)
def test_absurd_variant_settings_are_parameter_errors(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        make_demo_dataset(**SIZES, **kwargs)


def test_a_share_that_leaves_no_user_with_history_is_an_error():
    with pytest.raises(ParameterError, match="leaves no user with history"):
        make_demo_dataset(seed=0, n_items=60, n_users=3, n_themes=6, bio_only_share=0.9)


def test_truth_round_trips_through_dict_json_and_frames(bio_only):
    _, truth = bio_only
    assert DemoTruth.from_dict(json.loads(json.dumps(truth.to_dict()))) == truth
    frames = truth.to_frames()
    assert frames["users"]["known_by"].value_counts().to_dict() == {"history": 160, "bio": 40}
    assert DemoTruth.from_frames(frames) == truth
    with pytest.raises(MissingColumnsError, match=r"truth lacks \['user_themes'\]"):
        DemoTruth.from_dict({k: v for k, v in truth.to_dict().items() if k != "user_themes"})
    with pytest.raises(MissingColumnsError, match="truth lacks"):
        DemoTruth.from_dict([1, 2])  # type: ignore[arg-type]


def test_files_load_back_as_a_dataset(bio_only, tmp_path):
    dataset, truth = bio_only
    paths = write_demo_files(dataset, truth, tmp_path)
    assert sorted(p.name for p in paths.values()) == [
        "interactions.csv",
        "items.csv",
        "truth.json",
        "users.csv",
    ]
    loaded = load_dataset(paths["interactions"], paths["items"], paths["users"])
    assert len(loaded.users) == 200 and len(loaded.interactions) == len(dataset.interactions)
    assert loaded.interactions[ITEM_ID].isin(loaded.items[ITEM_ID]).all()
    assert read_demo_truth(tmp_path) == truth
    (tmp_path / "truth.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(DataFormatError, match="is not valid JSON"):
        read_demo_truth(tmp_path / "truth.json")


def test_demo_data_command(tmp_path, capsys):
    out = tmp_path / "weak"
    sizes = ["--n-users", "150", "--n-items", "90", "--n-themes", "5"]
    code = main(["demo-data", "--out", str(out), *sizes, "--weak-attributes", "--no-bios"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "150 users (columns age_band, gender, occupation; 0 known only by a bio)" in printed
    users = pd.read_csv(out / "users.csv")
    assert users.columns.tolist() == [USER_ID, "age_band", "gender", "occupation"]
    assert read_demo_truth(out).theme_names[:1] == ["Hiking & outdoors"]
    code = main(["demo-data", "--out", str(tmp_path / "bad"), "--bio-only-share", "2"])
    assert code == 2
    error = capsys.readouterr().err
    assert "bio_only_share=2.0 is out of range" in error and "Traceback" not in error


def test_demo_data_into_a_path_that_is_a_file_is_one_line(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("not a folder", encoding="utf-8")
    sizes = ["--n-users", "50", "--n-items", "60", "--n-themes", "4"]
    assert main(["demo-data", "--out", str(taken), *sizes]) == 2
    error = capsys.readouterr().err
    assert str(taken) in error and "writable output path" in error and "Traceback" not in error
    assert taken.read_text(encoding="utf-8") == "not a folder"
