"""``interestlens demo-data``: the demo dataset and its variants as files to fit and evaluate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from interestlens.cli.common import out

#: the tie between attributes and interests when --weak-attributes gives no strength
DEFAULT_ATTRIBUTE_STRENGTH = 0.3


def demo_data(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for interactions.csv, items.csv, users.csv.")
    ],
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    n_users: Annotated[
        int, typer.Option("--n-users", help="Users (with and without history).")
    ] = 600,
    n_items: Annotated[int, typer.Option("--n-items", help="Items.")] = 400,
    n_themes: Annotated[int, typer.Option("--n-themes", help="Interest themes (2 to 12).")] = 10,
    bio_only_share: Annotated[
        float,
        typer.Option("--bio-only-share", help="Share of users known only by a bio (0 to <1)."),
    ] = 0.0,
    foreign_bio_share: Annotated[
        float,
        typer.Option(
            "--foreign-bio-share",
            help="Share of the bio-only users writing in Spanish, German or Chinese.",
        ),
    ] = 0.0,
    weak_attributes: Annotated[
        bool,
        typer.Option(
            "--weak-attributes", help="Add age_band, gender, occupation weakly tied to interests."
        ),
    ] = False,
    attribute_strength: Annotated[
        float | None,
        typer.Option(
            "--attribute-strength",
            help=f"Tie of attributes to interests, 0 to 1 (implies --weak-attributes; "
            f"default {DEFAULT_ATTRIBUTE_STRENGTH}).",
        ),
    ] = None,
    no_bios: Annotated[
        bool, typer.Option("--no-bios", help="Users file of attributes only (no bio column).")
    ] = False,
) -> None:
    """Write the demo dataset (or a variant: bio-only users, weak attributes) and truth.json."""
    from interestlens.data.synthetic import make_demo_dataset, write_demo_files

    if weak_attributes and attribute_strength is None:
        attribute_strength = DEFAULT_ATTRIBUTE_STRENGTH
    dataset, truth = make_demo_dataset(
        seed=seed,
        n_items=n_items,
        n_users=n_users,
        n_themes=n_themes,
        bio_only_share=bio_only_share,
        foreign_bio_share=foreign_bio_share,
        attribute_strength=attribute_strength,
        bios=not no_bios,
    )
    paths = write_demo_files(dataset, truth, out_dir)
    users = dataset.users
    assert users is not None
    out.print(
        f"Wrote {len(dataset.interactions)} interactions, {len(dataset.items)} items and "
        f"{len(users)} users (columns {', '.join(users.columns[1:])}; "
        f"{len(truth.bio_only_users)} known only by a bio) to {out_dir}: "
        + ", ".join(path.name for path in paths.values()),
        highlight=False,
    )
