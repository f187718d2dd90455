"""The same pipeline on Apache Spark: for data that outgrows one machine.

Install with the ``[spark]`` extra (PySpark 4; Spark needs a Java 17+ runtime). Each module
mirrors one single-machine stage and reuses its code for the per-row work, on the executors:

``session``    a local or cluster SparkSession (spark-submit brings its own)
``frames``     reading CSV/Parquet/JSON (files or Parquet directories), checks, integer ids
``embed``      texts -> vectors with ``mapInPandas``: one encoder per executor process,
               batches sorted by length, the embedding cache's keys
``represent``  user interest vectors: join + rating/recency-weighted mean per user
``cluster``    k chosen on a sample by the single-machine rule, MLlib k-means (k-means||),
               every user assigned in one pass against broadcast centroids
``explain``    cluster sizes, keywords, central and over-represented items from aggregations,
               statistics over fewer than ``spark.min_group_size`` users suppressed
``recommend``  ALS (MLlib) + per-cluster candidate lists -> top-k for every user (Parquet)
``export``     the model directory, in the single-machine format (``model_dir``), written
               from streamed Parquet: ``serve``, ``recommend``, ``report`` load it unchanged
``job``        :func:`fit_spark`, the whole job with timings per stage

See docs/scale.md for what runs where and the plan for 100 M users.
"""

from __future__ import annotations

from interestlens.errors import InterestLensError


class SparkUnavailableError(InterestLensError, RuntimeError):
    """PySpark or a Java runtime is missing."""


def require_pyspark() -> None:
    """Raise :class:`SparkUnavailableError` (with the fix) unless PySpark and Java are here."""
    import shutil

    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailableError(
            "PySpark is not installed",
            expected="the [spark] extra (pyspark>=4)",
            fix="pip install 'interestlens[spark]'",
        ) from None
    import os

    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and os.path.isdir(java_home)):
        raise SparkUnavailableError(
            "no Java runtime found (no 'java' on PATH, no JAVA_HOME)",
            expected="Java 17 or later, which Spark 4 runs on",
            fix="install one, e.g. apt-get install openjdk-17-jre-headless",
        )


__all__ = ["SparkUnavailableError", "require_pyspark"]
