"""The ``interestlens`` command.

Every command reads settings through :func:`interestlens.config.load_settings` (defaults <
``--config`` TOML < ``INTERESTLENS_*`` environment < options). Any :class:`InterestLensError`
is printed as one line on stderr and the command exits with code 2 — never a traceback.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Table

from interestlens.config import Settings, load_settings
from interestlens.errors import InterestLensError
from interestlens.persist import atomic_write_text

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


def _settings(config: Path | None, quiet: bool = False, **overrides: Any) -> Settings:
    if quiet:
        overrides["encoder.show_progress"] = False
    return load_settings(config, overrides=overrides)


@app.command()
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
    from interestlens.embed_job import embed_file

    settings = _settings(
        config,
        quiet,
        **{
            "encoder.kind": encoder,
            "encoder.model": encoder_model,
            "encoder.cache": False if no_cache else None,
            "encoder.cache_dir": cache_dir,
        },
    )
    result = embed_file(input, output, settings, id_col=id_col, text_cols=text_col)
    _print_stats("Embedded", result)


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


def _data_overrides(
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


def _encoder_overrides(
    encoder: str | None, encoder_model: str | None, no_cache: bool, cache_dir: Path | None
) -> dict[str, Any]:
    return {
        "encoder.kind": encoder,
        "encoder.model": encoder_model,
        "encoder.cache": False if no_cache else None,
        "encoder.cache_dir": cache_dir,
    }


def _read_dataset(
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
    err.print(f"[bold]Read[/] {_describe(dataset.summary())}")
    return dataset


@app.command()
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
) -> None:
    """Fit a model: texts → vectors → user interests, saved to a model directory."""
    from interestlens.pipeline import InterestLens

    settings = _settings(
        config,
        quiet,
        seed=seed,
        **_data_overrides(user_col, item_col, rating_col, timestamp_col, drop_unknown),
        **_encoder_overrides(encoder, encoder_model, no_cache, cache_dir),
    )
    started = time.perf_counter()
    dataset = _read_dataset(
        settings, interactions, items, users, movielens, tmdb, amazon, amazon_meta
    )
    model = InterestLens(settings, show_progress=not quiet).fit(dataset)
    path = model.save(out_dir)
    _print_fit(model, path, time.perf_counter() - started)


@app.command()
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
) -> None:
    """Generate the built-in demo dataset (no download), fit a model on it and say where it went."""
    from interestlens.demo import run_demo

    settings = _settings(
        config,
        quiet,
        seed=seed,
        **{
            "encoder.kind": encoder,
            "encoder.cache": False if no_cache else None,
            "encoder.cache_dir": cache_dir,
        },
    )
    run_demo(out_dir, settings, console=out, show_progress=not quiet)


ModelOption = Annotated[
    Path, typer.Option("--model", help="Model directory written by 'interestlens fit'.")
]


@app.command()
def clusters(
    model_dir: ModelOption,
    output: Annotated[Path, typer.Option("--output", help="CSV to write.")],
) -> None:
    """Write user_id,cluster (+ label, membership probability where the method has one)."""
    from interestlens.pipeline import InterestLens

    model = InterestLens.load(model_dir)
    table = model.cluster_table()
    atomic_write_text(output, table.to_csv(index=False))
    counts = table["cluster"].value_counts().sort_index()
    out.print(
        f"Wrote {len(table)} users in {int((counts.index >= 0).sum())} clusters to {output}"
        + (f" ({int(counts.get(-1, 0))} not clustered: cluster -1)" if -1 in counts else "")
    )


@app.command()
def report(
    model_dir: ModelOption,
    output: Annotated[Path, typer.Option("--output", help="HTML file to write.")] = Path(
        "report.html"
    ),
) -> None:
    """Write one self-contained HTML page: interest map, cluster cards, k-selection curves."""
    from interestlens.pipeline import InterestLens
    from interestlens.report import write_report

    path = write_report(InterestLens.load(model_dir), output, model_dir=model_dir)
    out.print(f"Report written to {path.resolve()}")


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


@app.command()
def recommend(
    model_dir: ModelOption,
    output: Annotated[Path, typer.Option("--output", help="CSV to write.")],
    users: Annotated[
        Path | None,
        typer.Option("--users", help="File with one user id per line (users-file-only ids too)."),
    ] = None,
    all_users: Annotated[bool, typer.Option("--all", help="Every user the model knows.")] = False,
    k: Annotated[
        int | None, typer.Option("-k", help="Items per user (default recommend.k).")
    ] = None,
    candidates: Annotated[
        Path | None,
        typer.Option("--candidates", help="File with one item id per line: rank only these."),
    ] = None,
    unknown: Annotated[
        str,
        typer.Option(
            "--unknown", help="Unknown user ids: 'error' (default) or 'popular' (fall back)."
        ),
    ] = "error",
    config: ConfigOption = None,
    quiet: QuietOption = False,
) -> None:
    """Write user_id,rank,item_id,score,cluster,cluster_label,reason for the chosen users."""
    from interestlens.engine import RecommendationEngine
    from interestlens.errors import ParameterError

    if (users is None) == (not all_users):
        raise ParameterError(
            "give either --users FILE or --all" + (" (both were given)" if all_users else ""),
            expected="exactly one of --users FILE and --all",
            fix="pass --users users.txt (one id per line) or --all",
        )
    if unknown not in ("error", "popular"):
        raise ParameterError(
            f"--unknown {unknown}",
            expected="'error' or 'popular'",
            fix="pass --unknown popular to give unknown users the most popular items",
        )
    settings = _settings(config, quiet)
    engine = RecommendationEngine.load(model_dir, settings=settings)
    length = k if k is not None else engine.settings.recommend.k
    ids = read_id_list(users, "user") if users is not None else engine.user_ids.ids
    wanted = read_id_list(candidates, "candidate item") if candidates is not None else None
    started = time.perf_counter()
    table, missing = engine.recommend_users(
        ids,
        length,
        candidates=wanted,
        unknown=unknown,
        show_progress=not quiet,  # type: ignore[arg-type]
    )
    atomic_write_text(output, table.to_csv(index=False))
    out.print(
        f"Wrote {len(table)} recommendations for {len(ids)} users to {output} "
        f"in {time.perf_counter() - started:.1f}s"
        + (f"; {len(missing)} unknown users got popular items" if missing else "")
    )


@app.command()
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
    from interestlens.model_dir import read_manifest
    from interestlens.pipeline import InterestLens

    if model_dir is not None:
        read_manifest(model_dir.expanduser())  # a clear error now, not after the evaluation
    settings = _settings(
        config,
        quiet,
        seed=seed,
        **_data_overrides(user_col, item_col, rating_col, timestamp_col, drop_unknown),
        **_encoder_overrides(encoder, encoder_model, no_cache, cache_dir),
    )
    started = time.perf_counter()
    dataset = _read_dataset(
        settings, interactions, items, users, movielens, tmdb, amazon, amazon_meta
    )
    result = run_evaluation(
        dataset,
        settings,
        encoder=InterestLens(settings).build_encoder(),
        segments=[part.strip() for part in segments.split(",") if part.strip()],
        k=k,
        show_progress=not quiet,
    )
    paths = write_evaluation(result, out_dir)
    if model_dir is not None:
        write_evaluation(result, model_dir.expanduser())
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


@app.command()
def serve(
    model_dir: ModelOption,
    host: Annotated[str | None, typer.Option("--host", help="Address (serve.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (serve.port).")] = None,
    config: ConfigOption = None,
) -> None:
    """Run the HTTP service (FastAPI + uvicorn) for a model directory; docs at /docs."""
    from interestlens.serve import run_server

    settings = _settings(config, **{"serve.host": host, "serve.port": port})
    run_server(model_dir, settings)


@app.command()
def refit(
    model_dir: ModelOption,
    out_dir: Annotated[Path, typer.Option("--out", help="New model directory to write.")],
    events_db: Annotated[
        Path | None,
        typer.Option("--events-db", help="The service's event store (default: serve.events_db)."),
    ] = None,
    config: ConfigOption = None,
    quiet: QuietOption = False,
) -> None:
    """Fold the events, items and deletions the service stored into a newly fitted model."""
    from interestlens.serve import refit_model

    settings = _settings(config, quiet)
    summary = refit_model(
        model_dir, out_dir, settings, events_db=events_db, show_progress=not quiet
    )
    table = Table(title=f"Refitted model written to {summary.out}", show_header=False)
    for key, value in summary.to_dict().items():
        if key not in ("problems", "out"):
            table.add_row(key.replace("_", " "), str(value))
    out.print(table)
    for problem in summary.problems:
        err.print(f"[yellow]not folded:[/] {problem}", highlight=False)


@app.command()
def describe(model_dir: ModelOption) -> None:
    """Print the clustering (k, scores, stability) and a card per cluster, as text."""
    from interestlens.pipeline import InterestLens

    model = InterestLens.load(model_dir)
    result = model.clusters_.result
    stability = (result.stability or {}).get("mean_ari")
    out.print(
        f"[bold]{model.dataset_name_}[/]: {len(model.user_ids_)} users, "
        f"{len(model.item_ids_)} items; {result.method}, k = {result.n_clusters} "
        f"({result.k_source}); silhouette {result.scores.get('silhouette', float('nan')):.3f}; "
        f"stability (mean ARI over re-fits) " + ("n/a" if stability is None else f"{stability:.3f}")
    )
    for explanation in sorted(model.clusters_.explanations, key=lambda e: -e.size):
        out.print(
            f"\n[bold]Cluster {explanation.cluster_id}: {explanation.label}[/] — "
            f"{explanation.size} users ({explanation.share:.1%})"
            + (
                f", mean rating {explanation.mean_rating:.2f}"
                if explanation.mean_rating is not None
                else ""
            )
        )
        out.print("  keywords: " + ", ".join(k.term for k in explanation.keywords))
        out.print("  central items: " + "; ".join(c.title for c in explanation.central_items))
        out.print(
            "  over-represented: "
            + "; ".join(
                f"{o.title} (x{(o.smoothed_lift or o.lift):.1f})"
                for o in explanation.over_represented_items
            )
        )
        out.print("  medoid users: " + ", ".join(m.user_id for m in explanation.medoid_users))


def _describe(summary: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in summary.items())


def _print_stats(title: str, stats: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False)
    for key, value in stats.items():
        table.add_row(str(key), f"{value:.3f}" if isinstance(value, float) else str(value))
    out.print(table)


def recommender_summary(recommender: Any) -> str:
    """One line: what tuning chose (or that the documented defaults were used)."""
    tuned = {
        regime: record["score"]
        for regime, record in (recommender.tuning_ or {}).items()
        if "score" in record
    }
    chosen = f"{recommender.n_clusters_} affinity clusters, half-life {recommender.half_life_}"
    if not tuned:
        return f"default blend weights (tuning off), {chosen}"
    scores = ", ".join(f"{regime} {score:.3f}" for regime, score in tuned.items())
    return f"tuned on validation carved from training (NDCG@10: {scores}); {chosen}"


def _print_fit(model: Any, path: Path, seconds: float) -> None:
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
    missing = report.users_without_signal
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        table.add_row("users without history or text", f"{len(missing)}: {shown}")
    recommender = getattr(model, "recommender_", None)
    if recommender is not None:
        table.add_row("recommender", recommender_summary(recommender))
    table.add_row("total time", f"{seconds:.1f}s")
    out.print(table)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning every known error into one line and exit code 2."""
    try:
        result = app(args=argv, standalone_mode=False)
    except InterestLensError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2
    except click.exceptions.Abort:
        err.print("aborted")
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except OSError as exc:
        err.print(
            f"[bold red]error:[/] {exc.strerror or exc} ({exc.filename or ''}); expected a "
            "readable input and a writable output path. Fix: check the path and its permissions.",
            highlight=False,
            soft_wrap=True,
        )
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
