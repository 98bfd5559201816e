"""Runs the very scripts in glue_scripts/ under local PySpark, as Glue would run them.

The Spark session is created once per process and reused by every mapped
table, which is what keeps a local pipeline run in seconds rather than minutes.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from functools import cache, lru_cache
from types import ModuleType

from edp.settings import ConfigError, glue_scripts_dir


@lru_cache(maxsize=1)
def spark_session():
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # keep the driver's ports on loopback
    return (
        SparkSession.builder.master(os.environ.get("EDP_SPARK_MASTER", "local[2]"))
        .appName("edp-glue")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", os.environ.get("EDP_SPARK_DRIVER_MEMORY", "1g"))
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .getOrCreate()
    )


@cache
def load_script(name: str) -> ModuleType:
    path = glue_scripts_dir() / name
    if not path.is_file():
        raise ConfigError(f"Glue script {name!r} not found in {glue_scripts_dir()}")
    spec = importlib.util.spec_from_file_location(f"edp_glue_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(name: str, arguments: dict[str, str]) -> dict:
    """Call the script's `main` with Glue-style `--name value` arguments and a local Spark session."""
    argv = [name]
    for key, value in arguments.items():
        argv += [f"--{key}", str(value)]
    return load_script(name).main(argv, spark=spark_session())
