"""The ``recommend`` command: ranked items with clusters and reasons for many users, as CSV."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from interestlens.cli.common import (
    ConfigOption,
    ModelOption,
    QuietOption,
    cli_settings,
    out,
    read_id_list,
)
from interestlens.csv_output import csv_text
from interestlens.persist import atomic_write_text


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
    raw_ids: Annotated[
        bool,
        typer.Option(
            "--raw-ids",
            help="Pseudonymized model: write the ids as given instead of their pseudonyms.",
        ),
    ] = False,
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
    settings = cli_settings(config, quiet)
    from interestlens.model_dir import read_manifest
    from interestlens.privacy import model_pseudonymizer

    pseudonymizer = model_pseudonymizer(settings.privacy, read_manifest(model_dir.expanduser()))
    engine = RecommendationEngine.load(model_dir, settings=settings, pseudonymizer=pseudonymizer)
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
    if pseudonymizer is not None and not raw_ids:
        # the file holds pseudonyms like the model (an id already a pseudonym stays as it is)
        table["user_id"] = [engine.user_ids.key(u) for u in table["user_id"]]
    atomic_write_text(output, csv_text(table))
    out.print(
        f"Wrote {len(table)} recommendations for {len(ids)} users to {output} "
        f"in {time.perf_counter() - started:.1f}s"
        + (f"; {len(missing)} unknown users got popular items" if missing else "")
    )
