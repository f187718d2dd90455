"""The ``evaluate`` command: interestlens against the reference recommenders on the same
splits (warm users, cold users, cold items)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from interestlens.cli.common import (
    AmazonMetaOption,
    AmazonOption,
    CacheDirOption,
    ConfigOption,
    DropUnknownOption,
    EncoderOption,
    InteractionsOption,
    ItemColOption,
    ItemsOption,
    ModelNameOption,
    MovieLensOption,
    NoCacheOption,
    QuietOption,
    RatingColOption,
    SeedOption,
    TimestampColOption,
    TmdbOption,
    UserColOption,
    UsersFileOption,
    cli_settings,
    data_overrides,
    encoder_overrides,
    out,
    read_dataset,
)


def evaluate(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for evaluation.json, .md and .csv.")
    ] = Path("evaluation"),
    model_dir: Annotated[
        Path | None,
        typer.Option(
            "--model", help="Also store evaluation.json in this model directory (for its report)."
        ),
    ] = None,
    interactions: InteractionsOption = None,
    items: ItemsOption = None,
    users: UsersFileOption = None,
    movielens: MovieLensOption = None,
    tmdb: TmdbOption = None,
    amazon: AmazonOption = None,
    amazon_meta: AmazonMetaOption = None,
    user_col: UserColOption = None,
    item_col: ItemColOption = None,
    rating_col: RatingColOption = None,
    timestamp_col: TimestampColOption = None,
    drop_unknown: DropUnknownOption = False,
    segments: Annotated[
        str,
        typer.Option("--segments", help="Comma-separated: warm, cold_users, cold_items."),
    ] = "warm,cold_users,cold_items",
    k: Annotated[int, typer.Option("-k", help="Cut-off of the ranking metrics.")] = 10,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="Warm hold-out: 'temporal' (each user's latest interactions) or 'random' "
            "(a seeded random share of each user's interactions); default "
            "recommend.validation (temporal).",
        ),
    ] = None,
    holdout_fraction: Annotated[
        float | None,
        typer.Option(
            "--holdout-fraction",
            help="Share of each user's interactions held out (default 0.2 temporal, 0.25 random).",
        ),
    ] = None,
    config: ConfigOption = None,
    encoder: EncoderOption = None,
    encoder_model: ModelNameOption = None,
    seed: SeedOption = None,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = None,
    quiet: QuietOption = False,
) -> None:
    """interestlens against MostPop, ItemKNN, EASE, ALS and TF-IDF kNN on the same splits:
    warm users, cold users and cold items; writes JSON, a markdown table and CSV."""
    from interestlens.evaluate.job import run_evaluation, write_evaluation
    from interestlens.model_dir import read_manifest, update_checksums
    from interestlens.pipeline import InterestLens

    if model_dir is not None:
        read_manifest(model_dir.expanduser())  # a clear error now, not after the evaluation
    settings = cli_settings(
        config,
        quiet,
        seed=seed,
        **data_overrides(user_col, item_col, rating_col, timestamp_col, drop_unknown),
        **encoder_overrides(encoder, encoder_model, no_cache, cache_dir),
    )
    started = time.perf_counter()
    dataset = read_dataset(
        settings, interactions, items, users, movielens, tmdb, amazon, amazon_meta
    )
    result = run_evaluation(
        dataset,
        settings,
        encoder=InterestLens(settings).build_encoder(),
        segments=[part.strip() for part in segments.split(",") if part.strip()],
        k=k,
        show_progress=not quiet,
        split=split,
        holdout_fraction=holdout_fraction,
    )
    paths = write_evaluation(result, out_dir)
    if model_dir is not None:
        written = write_evaluation(result, model_dir.expanduser())
        # the report reads evaluation.json: recorded like the model's own files
        update_checksums(model_dir.expanduser(), [path.name for path in written.values()])
    protocol = result.setup["split"]
    out.print(
        f"Split: {protocol['protocol']}, {protocol['holdout_fraction']:g} of each user's "
        f"interactions held out, seed {protocol['seed']}"
        + (f" ({protocol['note']})" if protocol["note"] else ""),
        highlight=False,
    )
    for line in result.summary_lines():
        out.print(line, highlight=False)
    for name, table in result.tables.items():
        out.print(f"\n[bold]{name}[/]")
        columns = ["model", f"ndcg@{k}", f"recall@{k}", f"mrr@{k}", f"coverage@{k}"]
        shown = table[[c for c in columns if c in table.columns]]
        out.print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    out.print(
        f"\nWrote {', '.join(str(p) for p in paths.values())}"
        + (f" and {model_dir / 'evaluation.json'}" if model_dir is not None else "")
        + f" in {time.perf_counter() - started:.0f}s"
    )
