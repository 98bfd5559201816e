"""Glue's runtime is named once (terraform/modules/processing/glue_runtime.json): the Glue jobs run its Glue
version, and the PySpark the tests run the scripts under is its Spark, pinned the same way everywhere."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib

import pytest

from edp.settings import REPO_ROOT, ConfigError
from edp_dev.local import glue

# AWS Glue release notes: the Spark each Glue version runs
GLUE_SPARK = {"4.0": "3.3.0", "5.0": "3.5.4", "5.1": "3.5.6"}
PROCESSING = REPO_ROOT / "terraform" / "modules" / "processing"


def test_the_runtime_file_names_a_glue_version_and_its_own_spark():
    runtime = glue.glue_runtime()
    assert GLUE_SPARK.get(runtime["glue_version"]) == runtime["spark"], runtime


def test_terraform_deploys_the_runtime_files_glue_version():
    text = "".join(p.read_text() for p in PROCESSING.glob("*.tf"))
    assert re.findall(r"glue_version\s*=\s*(\S+)", text) == ["local.glue_runtime.glue_version"]
    assert 'jsondecode(file("${path.module}/glue_runtime.json"))' in text


def test_local_pyspark_is_glues_spark():
    spark = glue.glue_runtime()["spark"]
    assert importlib.metadata.version("pyspark") == spark
    pins = (REPO_ROOT / "constraints" / "py3.11.txt").read_text()
    assert re.findall(r"^pyspark==(\S+)$", pins, re.M) == [spark]
    local = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["local"]
    assert [d for d in local if d.startswith("pyspark")] == [f"pyspark=={spark}"]


def test_a_session_refuses_another_spark(monkeypatch):
    monkeypatch.setattr(glue, "glue_runtime", lambda: {"glue_version": "9.9", "spark": "0.0.1"})
    with pytest.raises(ConfigError, match="Glue 9.9 runs Spark 0.0.1"):
        glue.check_spark_version()
