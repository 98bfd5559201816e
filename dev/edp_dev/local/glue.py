"""Runs the very scripts in glue_scripts/ under local PySpark, as Glue would run them.

The Spark session is created once per process and reused by every mapped
table, which is what keeps a local pipeline run in seconds rather than minutes.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import sys
from functools import cache, lru_cache
from pathlib import Path
from types import ModuleType

from edp.settings import REPO_ROOT, ConfigError, glue_scripts_dir

# Glue's runtime, named once: Terraform's processing module reads the Glue version from this file, and the
# local PySpark must be that version's Spark, or "runs on Glue unchanged" is not what the tests prove
GLUE_RUNTIME_FILE = REPO_ROOT / "terraform" / "modules" / "processing" / "glue_runtime.json"


@cache
def glue_runtime() -> dict[str, str]:
    """The Glue version the jobs run and what it brings (Spark, Python, Scala, Java, Iceberg)."""
    return json.loads(GLUE_RUNTIME_FILE.read_text())


def check_spark_version() -> None:
    """A PySpark other than Glue's would test another engine than the one that runs the scripts."""
    installed = importlib.metadata.version("pyspark")
    wanted = glue_runtime()["spark"]
    if installed != wanted:
        raise ConfigError(f"PySpark {installed} is installed but Glue {glue_runtime()['glue_version']} runs Spark "
                          f"{wanted} ({GLUE_RUNTIME_FILE.relative_to(REPO_ROOT)}); re-run scripts/setup.sh")


def iceberg_jars() -> list[str]:
    """Iceberg's Spark runtime for Glue's Spark and Scala (the jar Glue 5.1 loads for `--datalake-formats
    iceberg`, from the snowpark-connect-deps-iceberg wheel) and the Jackson classes it needs relocated, which
    scripts/setup.sh builds into the venv."""
    import snowpark_connect_deps_iceberg

    runtime = glue_runtime()
    spark_minor = ".".join(runtime["spark"].split(".")[:2])
    jars = Path(snowpark_connect_deps_iceberg.__file__).parent / "jars"
    found = sorted(jars.glob(f"iceberg-spark-runtime-{spark_minor}_{runtime['scala']}-*.jar"))
    shaded = Path(sys.prefix) / "share" / "edp" / "iceberg-jackson-shaded.jar"
    if not found or not shaded.is_file():
        raise ConfigError(f"the Iceberg runtime for Spark {spark_minor} (Scala {runtime['scala']}) or its relocated "
                          f"Jackson ({shaded}) is missing; run scripts/setup.sh")
    return [str(found[-1]), str(shaded)]


# The local driver's JVM: the C1 compiler only and the serial collector. A local run is many short Spark jobs on
# small data in a JVM that lives minutes on a laptop's few cores: C2's compiles and G1's threads cost it a third
# of its CPU and win nothing back (the Glue tests alone: 296 CPU-s with the JVM's defaults, 198 with these).
# EDP_SPARK_JAVA_OPTIONS replaces them, e.g. with "" for the JVM's defaults (C2 pays off on millions of rows).
LOCAL_JVM_OPTIONS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"


@lru_cache(maxsize=1)
def spark_session():
    from pyspark.sql import SparkSession

    check_spark_version()
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
        .config("spark.driver.extraJavaOptions", os.environ.get("EDP_SPARK_JAVA_OPTIONS", LOCAL_JVM_OPTIONS))
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        # Silver is Iceberg, as on Glue with --datalake-formats iceberg; each script names its catalog
        .config("spark.jars", ",".join(iceberg_jars()))
        .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
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
