"""Commands that read a fitted model: ``clusters``, ``report``, ``describe`` and ``verify``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from interestlens.cli.common import ModelOption, out
from interestlens.csv_output import csv_text
from interestlens.persist import atomic_write_text


def clusters(
    model_dir: ModelOption,
    output: Annotated[Path, typer.Option("--output", help="CSV to write.")],
) -> None:
    """Write user_id,cluster (+ label, membership probability where the method has one)."""
    from interestlens.pipeline import InterestLens

    model = InterestLens.load(model_dir)
    table = model.cluster_table()
    atomic_write_text(output, csv_text(table))
    counts = table["cluster"].value_counts().sort_index()
    out.print(
        f"Wrote {len(table)} users in {int((counts.index >= 0).sum())} clusters to {output}"
        + (f" ({int(counts.get(-1, 0))} not clustered: cluster -1)" if -1 in counts else "")
    )


def report(
    model_dir: ModelOption,
    output: Annotated[Path, typer.Option("--output", help="HTML file to write.")] = Path(
        "report.html"
    ),
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous", help="The model this one was refitted from (the over-time section)."
        ),
    ] = None,
) -> None:
    """Write one self-contained HTML page: interest map, cluster cards, k-selection curves."""
    from interestlens.pipeline import InterestLens
    from interestlens.report import write_report

    earlier = InterestLens.load(previous) if previous is not None else None
    path = write_report(InterestLens.load(model_dir), output, model_dir=model_dir, previous=earlier)
    out.print(f"Report written to {path.resolve()}")


def describe(model_dir: ModelOption) -> None:
    """Print the clustering (k, scores, stability) and a card per cluster, as text."""
    from interestlens.pipeline import InterestLens

    model = InterestLens.load(model_dir)
    result = model.clusters_.result
    stability = (result.stability or {}).get("mean_ari")
    out.print(
        f"[bold]{escape(str(model.dataset_name_))}[/]: {len(model.user_ids_)} users, "
        f"{len(model.item_ids_)} items; {result.method}, k = {result.n_clusters} "
        f"({result.k_source}); silhouette {result.scores.get('silhouette', float('nan')):.3f}; "
        f"stability (mean ARI over re-fits) " + ("n/a" if stability is None else f"{stability:.3f}")
    )
    from interestlens.privacy import privacy_facts, shown_explanations

    privacy = model.active_settings.privacy
    release = getattr(model, "privacy_release_", None)
    explanations, n_withheld = shown_explanations(model.clusters_.explanations, privacy, release)
    for name, value in privacy_facts(privacy, release, n_withheld).items():
        out.print(f"  {name}: {value}")
    for explanation in sorted(explanations, key=lambda e: -e.size):
        out.print(
            f"\n[bold]Cluster {explanation.cluster_id}: {escape(explanation.label)}[/] — "
            f"{explanation.size} users ({explanation.share:.1%})"
            + (
                f", mean rating {explanation.mean_rating:.2f}"
                if explanation.mean_rating is not None
                else ""
            )
        )
        # texts and ids from the data: printed as written, never read as rich markup
        out.print(
            "  keywords: " + escape(", ".join(k.term for k in explanation.keywords)),
        )
        out.print(
            "  central items: " + escape("; ".join(c.title for c in explanation.central_items))
        )
        out.print(
            "  over-represented: "
            + escape(
                "; ".join(
                    f"{o.title} (x{(o.smoothed_lift or o.lift):.1f})"
                    for o in explanation.over_represented_items
                )
            )
        )
        if not privacy.enabled:
            out.print(
                "  medoid users: " + escape(", ".join(m.user_id for m in explanation.medoid_users))
            )


def verify(model_dir: ModelOption) -> None:
    """Check a model directory without loading it: every file against the manifest, and
    every byte against checksums.json (says so plainly when the directory has none)."""
    from interestlens.model_dir import verify_checksums, verify_model_dir

    directory = model_dir.expanduser()
    manifest = verify_model_dir(directory, checksums=False)
    checksums = verify_checksums(directory)
    out.print(
        escape(
            f"{directory}: {manifest['n_users']} users, {manifest['n_items']} items; every "
            "file agrees with the manifest"
        ),
        highlight=False,
    )
    out.print(escape(checksums.describe()), highlight=False, soft_wrap=True)
