"""Shared pieces of the ``interestlens`` command: the typer app, consoles, option aliases,
settings and dataset helpers, and the tables the commands print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from interestlens.config import Settings, load_settings
from interestlens.represent import describe_bridge

app = typer.Typer(
    name="interestlens",
    help="User interest clusters and recommendations from what users and items say.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file (see docs/configuration.md).")
]
EncoderOption = Annotated[
    str | None,
    typer.Option(
        "--encoder", help="minilm (default), sentence-transformers, transformers or hashing."
    ),
]
ModelNameOption = Annotated[
    str | None,
    typer.Option("--encoder-model", help="Model name or local path for the encoder kind."),
]
SeedOption = Annotated[int | None, typer.Option("--seed", help="Random seed.")]
NoCacheOption = Annotated[
    bool, typer.Option("--no-cache", help="Do not read or write the embedding cache.")
]
CacheDirOption = Annotated[
    Path | None, typer.Option("--cache-dir", help="Embedding cache directory.")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


def cli_settings(config: Path | None, quiet: bool = False, **overrides: Any) -> Settings:
    if quiet:
        overrides["encoder.show_progress"] = False
    return load_settings(config, overrides=overrides)


InteractionsOption = Annotated[
    Path | None, typer.Option("--interactions", help="Interactions file (CSV/Parquet/JSONL).")
]
ItemsOption = Annotated[Path | None, typer.Option("--items", help="Items file.")]
UsersFileOption = Annotated[Path | None, typer.Option("--users", help="Optional users file.")]
MovieLensOption = Annotated[
    Path | None, typer.Option("--movielens", help="Read an ml-latest-small directory instead.")
]
TmdbOption = Annotated[
    Path | None,
    typer.Option("--tmdb", help="With --movielens: tmdb_5000_movies.csv(.gz) overviews."),
]
AmazonOption = Annotated[
    Path | None,
    typer.Option("--amazon", help="Read an Amazon reviews 2018 *_5.json.gz file instead."),
]
AmazonMetaOption = Annotated[
    Path | None, typer.Option("--amazon-meta", help="With --amazon: the meta_*.json.gz file.")
]
UserColOption = Annotated[str | None, typer.Option("--user-col")]
ItemColOption = Annotated[str | None, typer.Option("--item-col")]
RatingColOption = Annotated[str | None, typer.Option("--rating-col")]
TimestampColOption = Annotated[str | None, typer.Option("--timestamp-col")]
DropUnknownOption = Annotated[
    bool,
    typer.Option(
        "--drop-unknown", help="Drop interactions naming unknown users/items (and report how many)."
    ),
]


def data_overrides(
    user_col: str | None,
    item_col: str | None,
    rating_col: str | None,
    timestamp_col: str | None,
    drop_unknown: bool,
) -> dict[str, Any]:
    return {
        "data.user_col": user_col,
        "data.item_col": item_col,
        "data.rating_col": rating_col,
        "data.timestamp_col": timestamp_col,
        "data.on_unknown": "drop" if drop_unknown else None,
    }


def encoder_overrides(
    encoder: str | None, encoder_model: str | None, no_cache: bool, cache_dir: Path | None
) -> dict[str, Any]:
    return {
        "encoder.kind": encoder,
        "encoder.model": encoder_model,
        "encoder.cache": False if no_cache else None,
        "encoder.cache_dir": cache_dir,
    }


def read_dataset(
    settings: Settings,
    interactions: Path | None,
    items: Path | None,
    users: Path | None,
    movielens: Path | None,
    tmdb: Path | None,
    amazon: Path | None,
    amazon_meta: Path | None,
) -> Any:
    """The dataset the data options name (one reader each for files, MovieLens, Amazon)."""
    from interestlens.data.readers import read_dataset_from_options

    dataset = read_dataset_from_options(
        settings.data,
        interactions=interactions,
        items=items,
        users=users,
        movielens=movielens,
        tmdb=tmdb,
        amazon=amazon,
        amazon_meta=amazon_meta,
    )
    err.print(f"[bold]Read[/] {escape(_describe(dataset.summary()))}")
    return dataset


ModelOption = Annotated[
    Path, typer.Option("--model", help="Model directory written by 'interestlens fit'.")
]


def read_id_list(path: Path, what: str) -> list[str]:
    """One id per line (blank lines skipped); an empty file is an error."""
    from interestlens.errors import DataFileNotFoundError, EmptyDataError

    if not path.is_file():
        raise DataFileNotFoundError(
            f"{what} file {path} does not exist",
            expected=f"a text file with one {what} id per line",
            fix="check the path",
        )
    ids = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    ids = [i for i in ids if i]
    if not ids:
        raise EmptyDataError(
            f"{what} file {path} holds no ids",
            expected=f"one {what} id per line",
            fix=f"write at least one {what} id into the file",
        )
    return ids


def _describe(summary: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in summary.items())


def print_stats(title: str, stats: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False)
    for key, value in stats.items():
        table.add_row(str(key), f"{value:.3f}" if isinstance(value, float) else str(value))
    out.print(table)


def recommender_summary(recommender: Any) -> str:
    """What tuning chose per regime and why (blend kept, or the baseline it fell back to)."""
    tuned = {
        regime: record
        for regime, record in (recommender.tuning_ or {}).items()
        if "score" in record
    }
    chosen = f"{recommender.n_clusters_} affinity clusters, half-life {recommender.half_life_}"
    reused = [record for record in (recommender.tuning_ or {}).values() if "reused" in record]
    if reused:
        return f"{reused[0]['why']}; {chosen}"
    if not tuned:
        return f"default blend weights (tuning off), {chosen}"
    parts = []
    for regime, record in tuned.items():
        comparison = record.get("references") or {}
        fallback = comparison.get("fallback")
        if fallback:
            parts.append(f"{regime}: {fallback} alone ({comparison.get('why', '')})")
        else:
            parts.append(f"{regime}: blend {record['score']:.3f}, {comparison.get('why', '')}")
    skipped = [
        f"{regime} not tuned ({record['skipped']})"
        for regime, record in (recommender.tuning_ or {}).items()
        if "skipped" in record
    ]
    protocol = getattr(recommender, "validation", "temporal")
    return (
        f"tuned for {protocol} hold-out on validation carved from training (NDCG@10) — "
        + "; ".join(parts + skipped)
        + f"; {chosen}"
    )


def print_fit(model: Any, path: Path, seconds: float) -> None:
    report = model.report_
    table = Table(title=f"Model written to {path}", show_header=False)
    table.add_row("items", str(len(model.item_ids_)))
    table.add_row("users", str(len(model.user_ids_)))
    table.add_row("encoder", model.encoder_id_)
    for label, stats in (("item texts", report.items), ("user texts", report.users)):
        table.add_row(
            label,
            f"{stats.texts} texts, {stats.empty_texts} empty, {stats.truncated_texts} truncated, "
            f"{stats.encoded_texts} encoded, {stats.cache_hits} from cache, "
            f"{stats.seconds:.1f}s",
        )
    sources = ", ".join(f"{k}={v}" for k, v in report.interest_sources.items())
    table.add_row("interest vectors", sources)
    if report.text_bridge:
        table.add_row("text bridge", describe_bridge(report.text_bridge))
    missing = report.users_without_signal
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        table.add_row("users without history or text", escape(f"{len(missing)}: {shown}"))
    recommender = getattr(model, "recommender_", None)
    if recommender is not None:
        table.add_row("recommender", recommender_summary(recommender))
    table.add_row("total time", f"{seconds:.1f}s")
    out.print(table)
