"""Entry point for ``spark-submit``: the arguments of ``interestlens fit`` (``--engine spark``
is implied), run in the session spark-submit configured (master, executors, memory).

    spark-submit --master yarn --num-executors 50 --executor-cores 4 \\
        "$(python -c 'import interestlens.cli.spark_submit as m; print(m.__file__)')" \\
        --interactions s3a://shop/interactions/ --items s3a://shop/items/ --out /mnt/models/shop
"""

from __future__ import annotations

import sys

from interestlens.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    from pyspark.sql import SparkSession

    # the session spark-submit describes; the job finds it active and does not build its own
    SparkSession.builder.appName("interestlens").getOrCreate()
    args = list(sys.argv[1:] if argv is None else argv)
    return cli_main(["fit", "--engine", "spark", *args])


if __name__ == "__main__":
    sys.exit(main())
