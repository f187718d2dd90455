"""Commands around the HTTP service: ``serve`` and ``refit``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from interestlens.cli.common import ConfigOption, ModelOption, QuietOption, cli_settings, err, out


def serve(
    model_dir: ModelOption,
    host: Annotated[str | None, typer.Option("--host", help="Address (serve.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (serve.port).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="Worker processes on the port (serve.workers; more than 1 needs "
            "drift.adaptive = false).",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Run the HTTP service (FastAPI + uvicorn) for a model directory; docs at /docs."""
    from interestlens.serve import run_server

    settings = cli_settings(
        config, **{"serve.host": host, "serve.port": port, "serve.workers": workers}
    )
    run_server(model_dir, settings)


def refit(
    model_dir: ModelOption,
    out_dir: Annotated[Path, typer.Option("--out", help="New model directory to write.")],
    events_db: Annotated[
        Path | None,
        typer.Option("--events-db", help="The service's event store (default: serve.events_db)."),
    ] = None,
    skip_bad_events: Annotated[
        bool,
        typer.Option(
            "--skip-bad-events",
            help="Leave out stored events whose values are out of range (counted and listed) "
            "instead of stopping.",
        ),
    ] = False,
    config: ConfigOption = None,
    quiet: QuietOption = False,
    reuse_tuning: Annotated[
        bool,
        typer.Option(
            "--reuse-tuning",
            help="Take the served model's tuned blend weights, half-life and cluster count "
            "instead of searching them again (recommend.reuse_tuning).",
        ),
    ] = False,
) -> None:
    """Fold the events, items and deletions the service stored into a newly fitted model."""
    from interestlens.serve import refit_model

    settings = cli_settings(
        config, quiet, **({"recommend.reuse_tuning": True} if reuse_tuning else {})
    )
    summary = refit_model(
        model_dir,
        out_dir,
        settings,
        events_db=events_db,
        show_progress=not quiet,
        skip_bad_events=skip_bad_events,
    )
    table = Table(title=f"Refitted model written to {summary.out}", show_header=False)
    for key, value in summary.to_dict().items():
        if key not in ("problems", "out"):
            table.add_row(key.replace("_", " "), escape(str(value)))
    out.print(table)
    for problem in summary.problems:
        err.print(f"[yellow]not folded:[/] {escape(problem)}", highlight=False)
