"""Choose a reader from command-line style options: canonical files, MovieLens or Amazon."""

from __future__ import annotations

from pathlib import Path

from interestlens.config import DataConfig
from interestlens.data.amazon import load_amazon
from interestlens.data.io import load_dataset, validate_dataset
from interestlens.data.movielens import load_movielens
from interestlens.data.schema import Dataset
from interestlens.errors import ParameterError


def read_dataset_from_options(
    config: DataConfig,
    *,
    interactions: Path | None = None,
    items: Path | None = None,
    users: Path | None = None,
    movielens: Path | None = None,
    tmdb: Path | None = None,
    amazon: Path | None = None,
    amazon_meta: Path | None = None,
) -> Dataset:
    """Exactly one source: ``interactions`` + ``items`` (+ ``users``), ``movielens``, ``amazon``."""
    chosen = [
        name
        for name, given in (
            ("--interactions/--items", interactions is not None or items is not None),
            ("--movielens", movielens is not None),
            ("--amazon", amazon is not None),
        )
        if given
    ]
    if len(chosen) != 1:
        raise ParameterError(
            f"data sources given: {', '.join(chosen) or 'none'}",
            expected="exactly one of --interactions F --items F [--users F], --movielens DIR, "
            "--amazon F",
            fix="name one data source",
        )
    if movielens is not None:
        dataset = load_movielens(movielens, tmdb=tmdb)
    elif amazon is not None:
        dataset = load_amazon(amazon, amazon_meta)
    else:
        if interactions is None or items is None:
            missing = "--interactions" if interactions is None else "--items"
            raise ParameterError(
                f"{missing} is missing",
                expected="both --interactions F and --items F",
                fix=f"add {missing} FILE",
            )
        return load_dataset(interactions, items, users, config=config)
    if config.on_unknown == "drop":
        dataset = validate_dataset(dataset, on_unknown="drop")
    return dataset
