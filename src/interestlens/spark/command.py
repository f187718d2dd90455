"""``interestlens fit --engine spark``: the data options of ``fit``, run by :func:`fit_spark`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from interestlens.config import Settings
from interestlens.errors import ParameterError

ENGINES = ("single", "spark")


def fit_command(
    engine: str,
    settings: Settings,
    out_dir: Path,
    data_options: tuple[Any, ...],
    *,
    console: Any,
    quiet: bool = False,
) -> None:
    """Read the data (files and Parquet directories by Spark itself; the MovieLens and Amazon
    readers on the driver, then handed to Spark), fit, and print where everything went."""
    if engine not in ENGINES:
        raise ParameterError(
            f"--engine {engine}", expected=" or ".join(ENGINES), fix="pass --engine spark"
        )
    from interestlens.spark.frames import from_dataset, read_data
    from interestlens.spark.job import fit_spark
    from interestlens.spark.session import spark_session

    interactions, items, users, movielens, tmdb, amazon, amazon_meta = data_options
    started = time.perf_counter()
    spark = spark_session(settings.spark)
    spark.sparkContext.setLogLevel("ERROR")
    if movielens is not None or amazon is not None:
        from interestlens.data.readers import read_dataset_from_options

        dataset = read_dataset_from_options(
            settings.data,
            interactions=None,
            items=None,
            users=None,
            movielens=movielens,
            tmdb=tmdb,
            amazon=amazon,
            amazon_meta=amazon_meta,
        )
        data = from_dataset(spark, dataset)
    else:
        if interactions is None or items is None:
            raise ParameterError(
                "no data given",
                expected="--interactions and --items (files or Parquet directories), or "
                "--movielens / --amazon",
                fix="pass the data options as for 'interestlens fit'",
            )
        data = read_data(spark, settings.data, interactions=interactions, items=items, users=users)

    def report(stage: str) -> None:
        if not quiet:
            console.print(f"[dim]{time.perf_counter() - started:7.1f} s[/] {stage}")

    result = fit_spark(spark, data, settings, out_dir, report=report)
    console.print(
        f"[bold green]Fitted with Spark[/] ({settings.spark.master if spark else ''}): "
        f"{result.n_users} users, {result.n_items} items, {result.n_clusters} clusters in "
        f"{time.perf_counter() - started:.1f} s"
    )
    for stage, seconds in result.seconds.items():
        console.print(
            f"  {stage:<10} {seconds:8.1f} s   driver peak {result.driver_peak_mb[stage]:.0f} MiB"
        )
    console.print(f"Model: {result.model_dir}")
    console.print(f"Recommendations (Parquet, recommend CSV columns): {result.recommendations}")
