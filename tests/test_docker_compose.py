"""docker-compose.yml, checked without a Docker engine: services, pinned images, health checks, loopback
ports, volumes, mounts, start order, logical replication, no secrets in the file; and it agrees with the
stack `edp airflow up` starts from the virtualenv."""

from __future__ import annotations

import base64
import importlib.metadata
import re
import shutil
import stat
import subprocess

import pytest
import yaml

from edp.settings import REPO_ROOT
from edp_dev import airflow_stack

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
ONE_SHOT = {"airflow-init"}
REQUIRED = {*AIRFLOW_SERVICES, *ONE_SHOT, "airflow-db", "source-db", "aws"}
REPO_FOLDERS = ("dags", "plugins", "glue_scripts", "dbt", "terraform")
SECRET_WORDS = re.compile(r"PASSWORD|SECRET|TOKEN|FERNET|_KEY\b|_KEY_", re.IGNORECASE)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def long_running(services) -> dict:
    return {name: svc for name, svc in services.items() if name not in ONE_SHOT}


def test_every_service_of_the_stack_is_there(services):
    assert REQUIRED <= set(services), f"missing: {sorted(REQUIRED - set(services))}"
    for name, command in AIRFLOW_SERVICES.items():
        assert services[name]["command"] == command, name
    assert services["airflow-init"]["restart"] == "no" and "airflow" in " ".join(services["airflow-init"]["command"])
    assert services["airflow-init"]["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"


def test_images_are_pinned_and_airflow_matches_the_virtualenv(services):
    airflow = importlib.metadata.version("apache-airflow")
    moto = importlib.metadata.version("moto")
    for name, svc in services.items():
        image = svc.get("image")
        assert image, f"{name} has no image"
        repo, _, tag = image.rpartition(":")
        assert repo and "/" not in tag and re.match(r"\d", tag), f"{name}: {image} is not pinned to a version tag"
        assert tag != "latest", name
    for name in (*AIRFLOW_SERVICES, *ONE_SHOT):
        assert services[name]["image"] == f"apache/airflow:{airflow}-python3.11", name
    assert services["aws"]["image"] == f"motoserver/moto:{moto}"


def test_long_running_services_have_healthchecks_and_restart(services):
    for name, svc in long_running(services).items():
        check = svc.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert svc.get("restart") == "unless-stopped", name
    assert services["airflow-apiserver"]["healthcheck"]["test"][-1].endswith("/api/v2/monitor/health")


def test_published_ports_bind_to_loopback_only(services):
    published = {name: svc["ports"] for name, svc in services.items() if svc.get("ports")}
    assert {"airflow-apiserver", "source-db", "aws"} <= set(published)
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert "ports" not in services["airflow-db"], "the metadata DB needs no published port"


def test_databases_use_named_volumes_that_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, svc in services.items():
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} uses undeclared volume {source}"
    for db in ("airflow-db", "source-db"):
        sources = {v.split(":")[0]: v.split(":")[1] for v in services[db]["volumes"]}
        assert sources.get(db) == "/var/lib/postgresql/data", f"{db} keeps its data in the named volume {db}"


def test_airflow_services_mount_the_repo_where_edp_finds_it(services):
    for name in (*AIRFLOW_SERVICES, *ONE_SHOT):
        svc = services[name]
        mounts = {v.split(":")[0]: v.split(":")[1] for v in svc["volumes"]}
        targets = {folder: mounts.get(f"./{folder}") for folder in REPO_FOLDERS}
        assert all(targets.values()), f"{name} does not mount {[f for f, t in targets.items() if not t]}"
        # edp finds dags/, glue_scripts/, dbt/ and terraform/ beside plugins/ (settings.REPO_ROOT)
        roots = {t.rsplit("/", 1)[0] for t in targets.values()}
        assert len(roots) == 1, f"{name}: repo folders under different roots {roots}"
        env = svc["environment"]
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == targets["dags"]
        assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == targets["plugins"]
        assert targets["plugins"] in env["PYTHONPATH"].split(":")
        assert env["EDP_TERRAFORM_DIR"] == targets["terraform"]


def test_start_order_waits_for_health_and_the_migration(services):
    allowed = {"service_healthy", "service_completed_successfully"}
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert cond.get("condition") in allowed, f"{name} -> {dep}: {cond}"
            if cond["condition"] == "service_healthy":
                assert services[dep].get("healthcheck"), f"{name} waits for {dep}'s health, which has no check"
            else:
                assert dep in ONE_SHOT, f"{name} waits for {dep} to complete, but it runs on"
    for name in AIRFLOW_SERVICES:
        deps = services[name]["depends_on"]
        assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
        assert deps["airflow-db"]["condition"] == "service_healthy", name
    assert services["airflow-init"]["depends_on"]["airflow-db"]["condition"] == "service_healthy"


def test_airflow_3_settings_match_the_local_stack(services):
    env = services["airflow-apiserver"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("simple_auth_manager.SimpleAuthManager")
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET_CMD"], "components must share one JWT secret"
    local = airflow_stack.stack_env(8080)
    assert local["AIRFLOW__CORE__EXECUTOR"] == env["AIRFLOW__CORE__EXECUTOR"]
    assert local["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"]
    assert local["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8080/execution/"
    assert local["AIRFLOW__API__HOST"] == "127.0.0.1" and local["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert local["PATH"].split(":")[0].endswith("/bin") and local["EDP_TARGET"] == "local"


def test_source_db_replicates_logically(services):
    command = services["source-db"]["command"]
    assert "wal_level=logical" in command
    assert any(arg.startswith("max_replication_slots=") for arg in command)


def test_no_secret_is_written_in_the_file(compose, services):
    for name, svc in services.items():
        for key, value in (svc.get("environment") or {}).items():
            written_here = SECRET_WORDS.search(key) and not key.endswith(("_FILE", "_CMD"))
            assert not written_here, f"{name}: {key} is set in the file; read it from a secret (_FILE / _CMD)"
            if key.endswith(("_FILE", "_CMD")) and SECRET_WORDS.search(key):
                assert "/run/secrets/" in str(value) or "auth/" in str(value), f"{name}: {key}={value}"
            assert not re.search(r"://[^/\s:@]+:[^%@\s/]+@", str(value)), f"{name}: {key} embeds a password"
    for name, secret in compose["secrets"].items():
        path = secret["file"]
        assert path.startswith("./.edp/"), f"secret {name} must live in the ignored state folder"
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO_ROOT)
        assert ignored.returncode == 0, f"{path} is not ignored by git"


def test_compose_secrets_are_written_once_private_to_the_folder(compose, tmp_path):
    folder = tmp_path / "compose"
    written = airflow_stack.write_compose_secrets(folder)
    named = {secret["file"].rsplit("/", 1)[1] for secret in compose["secrets"].values()}
    assert {p.name for p in written} == named
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in written)
    assert len(base64.urlsafe_b64decode((folder / "airflow_fernet_key").read_text().strip())) == 32
    before = {p.name: p.read_text() for p in written}
    assert airflow_stack.write_compose_secrets(folder) == []
    assert {p.name: p.read_text() for p in written} == before
    assert (folder / "auth").is_dir()
    assert {s["file"].rsplit("/", 1)[0] for s in compose["secrets"].values()} == {"./.edp/compose"}
    assert airflow_stack.COMPOSE_SECRETS == REPO_ROOT / ".edp" / "compose"


def test_docker_compose_accepts_the_file():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client on this machine: `docker compose config` not run")
    if subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker client has no compose plugin: `docker compose config` not run")
    airflow_stack.write_compose_secrets()
    result = subprocess.run([docker, "compose", "-f", str(COMPOSE_FILE), "config", "-q"], cwd=REPO_ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
