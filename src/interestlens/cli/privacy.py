"""Commands for erasure requests and keys: ``forget``, ``audit`` and ``rotate-key`` (see
docs/privacy.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from interestlens.cli.common import ConfigOption, ModelOption, QuietOption, cli_settings, err, out

UserOption = Annotated[str, typer.Option("--user", help="The user's id, as in the input data.")]
EventsDbOption = Annotated[
    Path | None,
    typer.Option("--events-db", help="The service's events store (default: beside the model)."),
]
CacheOption = Annotated[
    Path | None,
    typer.Option("--cache", help="Embedding cache file (default: encoder.cache_dir's)."),
]


def forget(
    model_dir: ModelOption,
    user: UserOption,
    events_db: EventsDbOption = None,
    cache: CacheOption = None,
    config: ConfigOption = None,
    quiet: QuietOption = False,
) -> None:
    """Erase a user from a model, its events store and the embedding cache.

    The model is refitted without them; their events, the store's forgetting record and their
    text's vectors are deleted. Check the result with 'interestlens audit'."""
    from interestlens.privacy_jobs.forget import forget_user

    settings = cli_settings(config, quiet)
    report = forget_user(
        model_dir, user, settings, events_db=events_db, cache=cache, show_progress=not quiet
    )
    out.print(json.dumps(report.to_dict(), indent=2))


def audit(
    model_dir: ModelOption,
    user: UserOption,
    events_db: EventsDbOption = None,
    cache: CacheOption = None,
    text_file: Annotated[
        Path | None,
        typer.Option("--text-file", help="The user's own text (bio, reviews), to search for."),
    ] = None,
    also: Annotated[
        list[Path] | None,
        typer.Option("--also", help="Further files to search (reports, CSVs); repeatable."),
    ] = None,
    config: ConfigOption = None,
) -> int:
    """List every place a user's id, pseudonym, text or events still appear.

    Exit code 0: none found; 1: found (listed); 2: the audit could not run."""
    from interestlens.embed import cache_path as embedding_cache_file
    from interestlens.privacy_jobs.audit import audit_user
    from interestlens.privacy_jobs.forget import events_store_path

    settings = cli_settings(config)
    store = events_store_path(model_dir.expanduser().resolve(), settings, events_db)
    cache_path = cache if cache is not None else embedding_cache_file(settings.encoder)
    text = text_file.read_text(encoding="utf-8") if text_file is not None else None
    report = audit_user(
        model_dir,
        user,
        settings,
        text=text,
        events_db=store,
        cache=cache_path if cache is not None or cache_path.exists() else None,
        extra_paths=also or (),
    )
    checked = "id" + (", pseudonym" if report.pseudonym_checked else "")
    checked += ", text" if report.text_checked else "; text unknown, not searched: --text-file"
    for finding in report.findings:
        out.print(f"found: {finding}", highlight=False)
    summary = f"{len(report.findings)} places hold the user ({checked}) in {len(report.searched)}"
    (err if report.found else out).print(f"{summary} files searched", highlight=False)
    return 1 if report.found else 0


def rotate_key(
    model_dir: ModelOption,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Model directory to write (may be --model).")
    ],
    ids: Annotated[
        Path,
        typer.Option("--ids", help="Every user's raw id, one per line (the pseudonyms' source)."),
    ],
    events_db: EventsDbOption = None,
    config: ConfigOption = None,
) -> None:
    """Move a pseudonymized model and its events store to a new key.

    From privacy.key to privacy.new_key (INTERESTLENS_PRIVACY__KEY, INTERESTLENS_PRIVACY__NEW_KEY).
    Stop the service first; restart it with the new key."""
    from interestlens.cli.common import read_id_list
    from interestlens.errors import ConfigError
    from interestlens.privacy import Pseudonymizer
    from interestlens.privacy_jobs.forget import events_store_path
    from interestlens.privacy_jobs.rotate import rotate_key as rotate

    settings = cli_settings(config)
    if not settings.privacy.new_key or settings.privacy.new_key == settings.privacy.key:
        raise ConfigError(
            "privacy.new_key is not set or equals privacy.key",
            expected="the old key in INTERESTLENS_PRIVACY__KEY and a different new one in "
            "INTERESTLENS_PRIVACY__NEW_KEY",
            fix="export INTERESTLENS_PRIVACY__NEW_KEY=<a new long random secret>",
        )
    store = events_store_path(model_dir.expanduser().resolve(), settings, events_db)
    report = rotate(
        model_dir,
        out_dir,
        read_id_list(ids, "user"),
        Pseudonymizer(settings.privacy.key or ""),
        Pseudonymizer(settings.privacy.new_key),
        events_db=store,
    )
    out.print(json.dumps(report.to_dict(), indent=2))
    err.print("Restart the service with INTERESTLENS_PRIVACY__KEY set to the new key.")
