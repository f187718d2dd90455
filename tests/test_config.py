from pathlib import Path

import pytest

from interestlens.config import Settings, load_settings
from interestlens.errors import ConfigError


def test_defaults():
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.encoder.kind == "minilm"


def test_precedence_defaults_toml_env_cli(tmp_path: Path):
    toml = tmp_path / "c.toml"
    toml.write_text(
        'seed = 3\n[encoder]\nkind = "hashing"\nbatch_size = 8\n[interests]\ntext_weight = 0.5\n'
    )
    env = {"INTERESTLENS_ENCODER__BATCH_SIZE": "16", "INTERESTLENS_SEED": "4", "OTHER": "x"}
    settings = load_settings(toml, environ=env, overrides={"seed": 5, "encoder.model": None})
    assert settings.encoder.kind == "hashing"  # from TOML
    assert settings.encoder.batch_size == 16  # env beats TOML
    assert settings.seed == 5  # CLI beats env
    assert settings.interests.text_weight == 0.5
    assert settings.encoder.model is None  # an unset option hides nothing


def test_unknown_key_is_named(tmp_path: Path):
    toml = tmp_path / "c.toml"
    toml.write_text("[encoder]\nkynd = 'hashing'\n")
    with pytest.raises(ConfigError, match=r"encoder\.kynd: Extra inputs are not permitted"):
        load_settings(toml, environ={})


def test_bad_value_names_setting_and_value():
    with pytest.raises(ConfigError, match=r"interests\.text_weight.*got 2"):
        load_settings(environ={"INTERESTLENS_INTERESTS__TEXT_WEIGHT": "2"})


def test_missing_and_invalid_toml(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[encoder\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, environ={})


def test_k_range_checked():
    with pytest.raises(ConfigError, match="k_min=9 should be <= cluster.k_max=3"):
        load_settings(environ={}, overrides={"cluster.k_min": 9, "cluster.k_max": 3})
