"""Commands that build things: ``embed``, ``fit`` and ``demo``."""

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
    print_fit,
    print_stats,
    read_dataset,
)


def embed(
    input: Annotated[
        Path,
        typer.Option(
            "--input", help="Texts: a .txt file (one per line) or a CSV/Parquet/JSONL table."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", help="Where to write the vectors (.npy).")],
    id_col: Annotated[
        str | None, typer.Option("--id-col", help="Id column of a table input.")
    ] = None,
    text_col: Annotated[
        list[str] | None,
        typer.Option("--text-col", help="Text column(s) of a table input; default: all others."),
    ] = None,
    config: ConfigOption = None,
    encoder: EncoderOption = None,
    encoder_model: ModelNameOption = None,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = None,
    quiet: QuietOption = False,
) -> None:
    """Turn texts into L2-normalised vectors (.npy) plus a JSON file of ids and stats."""
    from interestlens.embed.text_file import embed_file

    settings = cli_settings(
        config,
        quiet,
        **encoder_overrides(encoder, encoder_model, no_cache, cache_dir),
    )
    result = embed_file(input, output, settings, id_col=id_col, text_cols=text_col)
    print_stats("Embedded", result)


def fit(
    out_dir: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
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
    config: ConfigOption = None,
    encoder: EncoderOption = None,
    encoder_model: ModelNameOption = None,
    seed: SeedOption = None,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = None,
    quiet: QuietOption = False,
    engine: Annotated[
        str, typer.Option("--engine", help="single (this machine, default) or spark.")
    ] = "single",
    spark_master: Annotated[
        str | None,
        typer.Option("--spark-master", help="Spark master for --engine spark, e.g. local[2]."),
    ] = None,
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous",
            help="An earlier model directory: matching clusters keep its ids and labels.",
        ),
    ] = None,
    reuse_tuning: Annotated[
        bool,
        typer.Option(
            "--reuse-tuning",
            help="Take the --previous model's tuned blend weights, half-life and cluster count "
            "instead of searching them again (recommend.reuse_tuning).",
        ),
    ] = False,
) -> None:
    """Fit a model: texts → vectors → user interests, saved to a model directory."""
    from interestlens.model_dir import check_destination
    from interestlens.pipeline import InterestLens

    check_destination(out_dir)  # a bad --out fails now, not after the whole fit

    settings = cli_settings(
        config,
        quiet,
        seed=seed,
        **data_overrides(user_col, item_col, rating_col, timestamp_col, drop_unknown),
        **encoder_overrides(encoder, encoder_model, no_cache, cache_dir),
        **({"spark.master": spark_master} if spark_master else {}),
        **({"recommend.reuse_tuning": True} if reuse_tuning else {}),
    )
    if settings.recommend.reuse_tuning and engine != "single":
        raise typer.BadParameter(
            f"--engine {engine} fits with given weights and no tuning; there is none to reuse "
            "(turn recommend.reuse_tuning off)",
            param_hint="--reuse-tuning",
        )
    if settings.recommend.reuse_tuning and previous is None:
        raise typer.BadParameter(
            "recommend.reuse_tuning takes the tuning of an earlier model: name it with "
            "--previous DIR",
            param_hint="--reuse-tuning",
        )
    started = time.perf_counter()
    if engine != "single":
        from interestlens.spark.command import fit_command

        data_options = (interactions, items, users, movielens, tmdb, amazon, amazon_meta)
        fit_command(engine, settings, out_dir, data_options, console=out, quiet=quiet)
        return
    dataset = read_dataset(
        settings, interactions, items, users, movielens, tmdb, amazon, amazon_meta
    )
    earlier = InterestLens.load(previous) if previous is not None else None
    model = InterestLens(settings, show_progress=not quiet).fit(dataset, previous=earlier)
    path = model.save(out_dir)
    print_fit(model, path, time.perf_counter() - started)
    if model.identity_ is not None:
        from interestlens.report.over_time import identity_line

        out.print(identity_line(model.identity_), highlight=False)


def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for the demo data, model and report.")
    ] = Path("interestlens-demo"),
    config: ConfigOption = None,
    encoder: EncoderOption = None,
    seed: SeedOption = None,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = None,
    quiet: QuietOption = False,
    drift: Annotated[
        bool,
        typer.Option(
            "--drift", help="The drifting year instead: interests grow, fade and split over time."
        ),
    ] = False,
) -> None:
    """Generate the built-in demo dataset (no download), fit a model on it and say where it went."""
    from interestlens.demo import run_demo

    settings = cli_settings(
        config,
        quiet,
        seed=seed,
        **encoder_overrides(encoder, None, no_cache, cache_dir),
    )
    if drift:
        from interestlens.demo import run_drift_demo

        run_drift_demo(out_dir, settings, console=out, show_progress=not quiet)
        return
    run_demo(out_dir, settings, console=out, show_progress=not quiet)
