"""A SparkSession for the job: the one spark-submit started, or a new one on ``master``."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from interestlens.config import SparkConfig
from interestlens.spark import require_pyspark

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def spark_session(config: SparkConfig, *, app_name: str = "interestlens") -> SparkSession:
    """The active session if there is one (spark-submit, a notebook), else a new one on
    ``config.master`` with Arrow transfers on and ``config.shuffle_partitions``."""
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # Python workers must import this interpreter's packages (numpy, interestlens): in local
    # mode they are started from PYSPARK_PYTHON, which defaults to whatever 'python3' is on PATH
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(config.master)
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", str(config.shuffle_partitions))
        .config("spark.default.parallelism", str(config.shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", config.driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "true")
        .getOrCreate()
    )
