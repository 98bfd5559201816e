"""MWAA packaging (plugins.zip, requirements.txt, startup.sh run for real) and deploy against the emulator."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import re
import shutil
import subprocess
import zipfile

import pytest

from edp import mwaa
from edp.cli import main as edp_main
from edp.settings import REPO_ROOT, ConfigError
from edp_dev.emulator.server import AwsEmulator

ROLE = "arn:aws:iam::123456789012:role/edp-emulator-mwaa"
NETWORK = {"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-a"]}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return mwaa.package(tmp_path_factory.mktemp("mwaa"), "dev")


def test_plugins_zip_holds_the_edp_package_at_its_root(built):
    with zipfile.ZipFile(built["plugins.zip"]) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert {"edp/__init__.py", "edp/dag_factory.py", "edp/spec.py", "edp/operators/terraform.py"} <= set(names)
    assert names[:2] == [".airflowignore", "edp_ui.py"] and all(n.startswith("edp/") for n in names[2:])
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    assert names[2:] == sorted(names[2:]) and {i.date_time for i in infos} == {mwaa.ZIP_TIME}


DEV_ONLY = re.compile(r"^\s*(?:from|import)\s+(moto|pytest|playwright|edp_dev|pyspark|duckdb|dbt|psycopg2|pyarrow)\b",
                      re.MULTILINE)


def test_plugins_zip_ships_no_development_code(built):
    """Only what runs on MWAA: no emulator, local target, test or browser code, and no module importing them
    (edp.cli adds the development commands only when edp_dev is installed, which MWAA never has)."""
    with zipfile.ZipFile(built["plugins.zip"]) as zf:
        sources = {n: zf.read(n).decode() for n in zf.namelist() if n.endswith(".py")}
    assert not [n for n in sources if re.search(r"emulator|moto|pytest|playwright|/local/", n)]
    offenders = {n: DEV_ONLY.findall(text) for n, text in sources.items() if DEV_ONLY.search(text)}
    assert offenders == {"edp/cli.py": ["edp_dev"]}, offenders  # the guarded, optional import of the dev commands
    assert "except ImportError" in sources["edp/cli.py"].split("from edp_dev import cli", 1)[1][:200]


def test_worker_requirements_are_the_shipped_packages_dependencies():
    """MWAA's requirements.txt lists what pyproject's base dependencies list (Airflow itself is MWAA's)."""
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    names = [re.split(r"[<>=!; ]", d, maxsplit=1)[0] for d in project["dependencies"]]  # extras kept
    assert [n for n in names if n != "apache-airflow"] == list(mwaa.WORKER_REQUIREMENTS)


def test_package_is_deterministic(built, tmp_path):
    again = mwaa.package(tmp_path, "dev")
    assert {k: p.read_bytes() for k, p in again.items()} == {k: p.read_bytes() for k, p in built.items()}


def test_requirements_pin_airflow_through_the_constraints_line(built):
    lines = built["requirements.txt"].read_text().splitlines()
    version = importlib.metadata.version("apache-airflow")
    assert mwaa.airflow_version() == version  # the venv runs the Airflow the constraints file pins
    assert lines[0] == (f'--constraint "https://raw.githubusercontent.com/apache/airflow/constraints-{version}/'
                        'constraints-3.12.txt"')
    assert lines[1:] == list(mwaa.WORKER_REQUIREMENTS) and not [line for line in lines[1:] if "=" in line]


def test_startup_script_is_valid_bash_with_the_environment_baked_in(built):
    script = built["startup.sh"].read_text()
    subprocess.run(["bash", "-n", str(built["startup.sh"])], check=True)
    assert script.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in script
    for line in ("export EDP_TARGET=aws", "export EDP_ENVIRONMENT=dev",
                 "export EDP_TERRAFORM_DIR=/usr/local/airflow/dags/terraform",
                 f"edp_terraform_version={mwaa.TERRAFORM_VERSION}"):
        assert line in script.splitlines()


# -- startup.sh for real: Terraform from a local "releases" folder ---------------------------------------------
@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """A releases folder shaped like releases.hashicorp.com/terraform/<v>/, holding this machine's terraform."""
    binary = shutil.which("terraform")
    if not binary:
        pytest.skip("no terraform CLI on PATH")
    arch = {"x86_64": "amd64", "aarch64": "arm64"}[platform.machine()]
    folder = tmp_path_factory.mktemp("releases")
    archive = folder / f"terraform_{mwaa.TERRAFORM_VERSION}_linux_{arch}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.write(binary, "terraform")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (folder / f"terraform_{mwaa.TERRAFORM_VERSION}_SHA256SUMS").write_text(
        f"{'0' * 64}  terraform_{mwaa.TERRAFORM_VERSION}_darwin_arm64.zip\n{digest}  {archive.name}\n")
    return folder


def _startup(script, releases, install_dir):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(install_dir.parent), "CHECKPOINT_DISABLE": "1",
           "EDP_TERRAFORM_RELEASES_URL": f"file://{releases}", "EDP_TERRAFORM_INSTALL_DIR": str(install_dir)}
    probe = (f'source "{script}"; echo "$EDP_TARGET $EDP_ENVIRONMENT $EDP_TERRAFORM_DIR"; '
             'command -v terraform; terraform version')
    return subprocess.run(["bash", "-c", probe], env=env, capture_output=True, text=True, timeout=120)


def test_startup_installs_the_verified_terraform_and_exports_settings(built, releases, tmp_path):
    install = tmp_path / "tf"
    first = _startup(built["startup.sh"], releases, install)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "aws dev /usr/local/airflow/dags/terraform"
    assert lines[1] == str(install / "terraform")
    assert lines[2] == f"Terraform v{mwaa.TERRAFORM_VERSION}"  # the constant is the CLI this repo runs
    # idempotent: a second run reuses the binary and needs no download
    again = _startup(built["startup.sh"], tmp_path / "no-such-releases", install)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[1:3] == lines[1:3]


def test_startup_refuses_an_archive_whose_checksum_does_not_match(built, releases, tmp_path):
    tampered = tmp_path / "releases"
    shutil.copytree(releases, tampered)
    sums = tampered / f"terraform_{mwaa.TERRAFORM_VERSION}_SHA256SUMS"
    sums.write_text("\n".join(f"{'f' * 64}  {line.split()[1]}" for line in sums.read_text().splitlines()) + "\n")
    result = _startup(built["startup.sh"], tampered, tmp_path / "tf")
    assert result.returncode != 0
    assert "does not match" in result.stderr
    assert not (tmp_path / "tf").exists()


def test_cli_package_writes_into_the_given_folder(tmp_path):
    assert edp_main(["mwaa", "package", "--environment", "staging", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(mwaa.ARTIFACTS)
    assert "export EDP_ENVIRONMENT=staging" in (tmp_path / "startup.sh").read_text()


# -- deploy against the emulator --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def emulator():
    with AwsEmulator() as emu:
        yield emu


@pytest.fixture
def emulator_env(emulator, monkeypatch):
    monkeypatch.setenv("EDP_AWS_ENDPOINT", emulator.endpoint)
    monkeypatch.setenv("EDP_ENVIRONMENT", "emulator")
    return emulator


@pytest.fixture
def repo(tmp_path):
    """What deploy reads from the repo, copied so a test can delete files."""
    root = tmp_path / "repo"
    ignore = shutil.ignore_patterns(".terraform", "__pycache__", "*.tfstate*")
    for folder in ("dags", "terraform", "glue_scripts", "plugins/edp", "constraints"):
        shutil.copytree(REPO_ROOT / folder, root / folder, ignore=ignore)
    for name in (".airflowignore", *mwaa.PLUGIN_MODULES):
        shutil.copyfile(REPO_ROOT / "plugins" / name, root / "plugins" / name)
    return root


def _mwaa_environment(emulator, bucket: str, name: str) -> None:
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="dags/", Body=b"")  # the folder marker Terraform creates
    client = emulator.client("mwaa")
    client.meta.config.inject_host_prefix = False
    client.create_environment(Name=name, ExecutionRoleArn=ROLE, SourceBucketArn=f"arn:aws:s3:::{bucket}",
                              DagS3Path="dags/", NetworkConfiguration=NETWORK)


def _keys(emulator, bucket: str) -> set[str]:
    pages = emulator.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


@pytest.mark.integration
def test_deploy_syncs_the_bucket_and_points_the_environment_at_the_new_versions(emulator_env, repo):
    emulator = emulator_env
    _mwaa_environment(emulator, "edp-emulator-mwaa-explicit", "edp-emulator-explicit")
    result = mwaa.deploy("emulator", bucket="edp-emulator-mwaa-explicit", name="edp-emulator-explicit", repo_root=repo,
                         echo=lambda _: None)

    keys = _keys(emulator, "edp-emulator-mwaa-explicit")
    assert {"dags/", "dags/edp_pipeline.py", "dags/edp_session.py", "dags/pipeline.yaml", "dags/.airflowignore",
            "dags/terraform/environments/dev.tfvars", "glue_scripts/bronze_to_silver.py",
            "plugins.zip", "requirements.txt", "startup.sh"} <= keys
    assert not [k for k in keys if ".terraform" in k or "tfstate" in k or "__pycache__" in k]
    environment = mwaa.mwaa_client("emulator").get_environment(Name="edp-emulator-explicit")["Environment"]
    assert result.updated and environment["LastUpdate"]["Status"] == "SUCCESS"
    assert environment["DagS3Path"] == "dags/"
    assert {k: environment[f"{stem}S3ObjectVersion"] for k, stem in
            (("plugins.zip", "Plugins"), ("requirements.txt", "Requirements"), ("startup.sh", "StartupScript"))} \
        == result.versions
    assert environment["PluginsS3Path"] == "plugins.zip" and environment["StartupScriptS3Path"] == "startup.sh"

    # a second deploy of the same tree uploads nothing and leaves the environment alone
    again = mwaa.deploy("emulator", bucket="edp-emulator-mwaa-explicit", name="edp-emulator-explicit", repo_root=repo,
                        echo=lambda _: None)
    assert (again.uploaded, again.deleted, again.updated, again.versions) == ([], [], False, result.versions)

    # a file deleted locally is deleted remotely; a changed DAG is uploaded, plugins untouched
    (repo / "glue_scripts" / "bronze_to_silver.py").unlink()
    (repo / "terraform" / "modules" / "processing" / "README.md").unlink()
    (repo / "dags" / "edp_pipeline.py").write_text((repo / "dags" / "edp_pipeline.py").read_text() + "\n# changed\n")
    third = mwaa.deploy("emulator", bucket="edp-emulator-mwaa-explicit", name="edp-emulator-explicit", repo_root=repo,
                        echo=lambda _: None)
    assert third.uploaded == ["dags/edp_pipeline.py"]
    assert sorted(third.deleted) == ["dags/terraform/modules/processing/README.md", "glue_scripts/bronze_to_silver.py"]
    assert not third.updated
    keys = _keys(emulator, "edp-emulator-mwaa-explicit")
    assert "glue_scripts/bronze_to_silver.py" not in keys and "dags/" in keys


@pytest.mark.integration
def test_deploy_reads_bucket_and_environment_from_the_published_foundation(emulator_env, repo):
    emulator = emulator_env
    _mwaa_environment(emulator, "edp-emulator-mwaa-published", "edp-emulator-published")
    outputs = {"environment": "emulator", "mwaa": {"bucket_name": "edp-emulator-mwaa-published",
                                                "environment_name": "edp-emulator-published",
                                                "execution_role_arn": ROLE, "webserver_url": None}}
    emulator.client("ssm").put_parameter(Name="/edp-emulator/foundation", Type="String", Value=json.dumps(outputs),
                                         Overwrite=True)
    try:
        result = mwaa.deploy("emulator", repo_root=repo, echo=lambda _: None)
        assert (result.bucket, result.name, result.updated) == ("edp-emulator-mwaa-published", "edp-emulator-published", True)
        assert "dags/edp_session.py" in _keys(emulator, "edp-emulator-mwaa-published")
        # MWAA switched off in the foundation: the error names what is missing and the way around it
        outputs["mwaa"]["environment_name"] = None
        emulator.client("ssm").put_parameter(Name="/edp-emulator/foundation", Type="String", Value=json.dumps(outputs),
                                             Overwrite=True)
        with pytest.raises(ConfigError, match=r"environment_name \(--name\).*/edp-emulator/foundation.*enable_mwaa"):
            mwaa.deploy("emulator", repo_root=repo, echo=lambda _: None)
        assert mwaa.deploy_target("emulator", name="edp-emulator-published").bucket == "edp-emulator-mwaa-published"
    finally:
        emulator.client("ssm").delete_parameter(Name="/edp-emulator/foundation")


@pytest.mark.integration
def test_deploy_without_published_outputs_or_options_says_what_is_missing(emulator_env):
    with pytest.raises(ConfigError, match=r"bucket_name \(--bucket\) or environment_name \(--name\)"):
        mwaa.deploy_target("emulator")


@pytest.mark.integration
def test_cli_deploy_reports_a_missing_environment(emulator_env, capsys):
    s3 = emulator_env.client("s3")
    s3.create_bucket(Bucket="edp-emulator-mwaa-cli", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    s3.put_bucket_versioning(Bucket="edp-emulator-mwaa-cli", VersioningConfiguration={"Status": "Enabled"})
    assert edp_main(["mwaa", "deploy", "--bucket", "edp-emulator-mwaa-cli", "--name", "nowhere"]) == 2
    assert "Environment nowhere not found" in capsys.readouterr().err


@pytest.mark.integration
def test_an_object_whose_etag_is_no_md5_is_compared_by_its_recorded_hash(emulator_env, tmp_path):
    """SSE-KMS objects (the MWAA bucket's default) have ETags that are not the MD5 of their bytes."""
    s3 = emulator_env.client("s3")
    s3.create_bucket(Bucket="edp-emulator-mwaa-kms", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    path = tmp_path / "dag.py"
    path.write_text("print('hi')\n")
    s3.put_object(Bucket="edp-emulator-mwaa-kms", Key="dags/dag.py", Body=path.read_bytes(),
                  Metadata={mwaa.SHA_METADATA: hashlib.sha256(path.read_bytes()).hexdigest()})
    result = mwaa.DeployResult("edp-emulator-mwaa-kms", "x")
    sync = mwaa._BucketSync(mwaa.aws_client("s3", "emulator"), "edp-emulator-mwaa-kms", result)
    sync.put("dags/dag.py", path, etag="not-an-md5")
    assert result.uploaded == []
    path.write_text("print('changed')\n")
    sync.put("dags/dag.py", path, etag="not-an-md5")
    assert result.uploaded == ["dags/dag.py"]
