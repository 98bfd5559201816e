"""MWAA packaging and deploy: what `edp mwaa package` builds and `edp mwaa deploy` uploads.

`package(out_dir)` writes the three files an MWAA environment pins by S3 object version:

- `plugins.zip`: the `edp` package with `edp/` at the root (MWAA unzips it into its plugins folder, which
  is on `sys.path`), built deterministically so an unchanged package uploads nothing;
- `requirements.txt`: the Airflow constraints line of the pinned Airflow on MWAA's Python, then what
  `edp` imports beyond Airflow, unpinned (the constraints pin them);
- `startup.sh`: installs the Terraform CLI the session DAG runs, verified against HashiCorp's
  SHA256SUMS, and exports the settings the DAGs read (EDP_TARGET, EDP_ENVIRONMENT, EDP_TERRAFORM_DIR).

`deploy(environment)` syncs `dags/` (with `terraform/` under `dags/terraform/`, where EDP_TERRAFORM_DIR
points) and `glue_scripts/` to the environment's MWAA bucket, uploads the three files and points the
environment at their new object versions. The bucket and environment come from the foundation's
published outputs (`/edp-<env>/foundation`, key `mwaa`) unless given explicitly.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edp.environments import EMULATOR, aws_client, parameter_name, published_outputs, resolve_environment
from edp.settings import REPO_ROOT, ConfigError

MWAA_PYTHON = "3.12"        # the Python MWAA runs its Airflow 3 environments on
TERRAFORM_VERSION = "1.11.4"  # the Terraform CLI this repo is tested with (tests/test_terraform.py runs it)
MWAA_HOME = "/usr/local/airflow"  # AIRFLOW_HOME on MWAA: dags/ and plugins/ are synced beneath it
# what the shipped package imports beyond Airflow itself (pyproject's base dependencies; a test keeps them
# equal), aiobotocore for the deferrable operators' async hooks; the constraints line pins each
WORKER_REQUIREMENTS = ("apache-airflow-providers-amazon[aiobotocore]", "apache-airflow-providers-openlineage", "boto3",
                       "PyYAML")
ARTIFACTS = ("plugins.zip", "requirements.txt", "startup.sh")
DAGS_PREFIX = "dags/"
GLUE_PREFIX = "glue_scripts/"
SKIP_DIRS = {"__pycache__", ".terraform", ".pytest_cache"}
SKIP_FILE = re.compile(r".*\.pyc$|.*\.tfstate(\.backup|\.\d+\..*)?$|\.terraform\.lock\.hcl$|.*tfplan$|crash\.log$")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry: same bytes on every build
SHA_METADATA = "edp-sha256"        # object metadata: the content hash, since a KMS-encrypted ETag is no MD5


def airflow_version(repo_root: Path = REPO_ROOT) -> str:
    """The Airflow the repo pins (constraints/py3.11.txt), which the MWAA environment must run."""
    pins = (repo_root / "constraints" / "py3.11.txt").read_text()
    found = re.search(r"^apache-airflow==(\S+)$", pins, re.MULTILINE)
    if not found:
        raise ConfigError(f"{repo_root / 'constraints' / 'py3.11.txt'} pins no apache-airflow version")
    return found.group(1)


def constraint_line(version: str) -> str:
    return (f'--constraint "https://raw.githubusercontent.com/apache/airflow/constraints-{version}/'
            f'constraints-{MWAA_PYTHON}.txt"')


def package(out_dir: Path, environment: str | None = None, repo_root: Path = REPO_ROOT) -> dict[str, Path]:
    """Build plugins.zip, requirements.txt and startup.sh for `environment` into `out_dir`."""
    environment = resolve_environment(environment)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    built = {name: out_dir / name for name in ARTIFACTS}
    write_plugins_zip(repo_root / "plugins", built["plugins.zip"])
    built["requirements.txt"].write_text(
        "\n".join([constraint_line(airflow_version(repo_root)), *WORKER_REQUIREMENTS]) + "\n")
    built["startup.sh"].write_text(startup_script(environment))
    built["startup.sh"].chmod(0o755)
    return built


def _files(root: Path) -> list[Path]:
    """Files under root sorted by path, without caches, Terraform working state or compiled Python."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        found += [Path(folder) / name for name in names if not SKIP_FILE.fullmatch(name)]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


PLUGIN_MODULES = ("edp_ui.py",)  # the plugins folder's own Airflow plugins (the UI pages: edp.ui)


def write_plugins_zip(plugins_dir: Path, dest: Path) -> None:
    """The `edp` package as `edp/...` entries, sorted, with fixed times and modes, the plugins folder's
    .airflowignore that keeps Airflow's plugin loader from importing the package's files by bare name, and
    the Airflow plugins beside it (PLUGIN_MODULES)."""
    with zipfile.ZipFile(dest, "w") as zf:
        for path in [plugins_dir / ".airflowignore", *(plugins_dir / name for name in PLUGIN_MODULES),
                     *_files(plugins_dir / "edp")]:
            info = zipfile.ZipInfo(path.relative_to(plugins_dir).as_posix(), ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())


STARTUP_SCRIPT = r"""#!/usr/bin/env bash
# MWAA startup script of EDP environment @ENVIRONMENT@, written by `edp mwaa package`.
# MWAA runs it on every Airflow component before Airflow starts (within 5 minutes). It installs the
# Terraform CLI the session DAG runs, verified against HashiCorp's SHA256SUMS, and exports what the DAGs
# read. Idempotent: a second run finds Terraform installed and only exports.
set -euo pipefail

export EDP_TARGET=aws
export EDP_ENVIRONMENT=@ENVIRONMENT@
export EDP_TERRAFORM_DIR=@MWAA_HOME@/dags/terraform

edp_terraform_version=@TERRAFORM_VERSION@
edp_terraform_dir="${EDP_TERRAFORM_INSTALL_DIR:-@MWAA_HOME@/.local/edp/terraform-${edp_terraform_version}}"

edp_install_terraform() (
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "edp startup: no Terraform build for $(uname -m)" >&2; exit 1 ;;
  esac
  releases="${EDP_TERRAFORM_RELEASES_URL:-https://releases.hashicorp.com/terraform/${edp_terraform_version}}"
  archive="terraform_${edp_terraform_version}_linux_${arch}.zip"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  curl -fsSL --retry 3 --max-time 120 -o "$work/$archive" "$releases/$archive"
  curl -fsSL --retry 3 --max-time 30 -o "$work/SHA256SUMS" "$releases/terraform_${edp_terraform_version}_SHA256SUMS"
  if ! grep -E "^[0-9a-f]{64}  ${archive}\$" "$work/SHA256SUMS" > "$work/expected"; then
    echo "edp startup: $archive is not listed in terraform_${edp_terraform_version}_SHA256SUMS" >&2
    exit 1
  fi
  if ! (cd "$work" && sha256sum --check --status expected); then
    echo "edp startup: SHA-256 of $archive does not match HashiCorp's SHA256SUMS; not installing it" >&2
    exit 1
  fi
  rm -rf "$edp_terraform_dir.partial"
  mkdir -p "$edp_terraform_dir.partial"
  python3 -m zipfile -e "$work/$archive" "$edp_terraform_dir.partial"
  chmod 0755 "$edp_terraform_dir.partial/terraform"
  rm -rf "$edp_terraform_dir"
  mv "$edp_terraform_dir.partial" "$edp_terraform_dir"
)

edp_installed="$(CHECKPOINT_DISABLE=1 "$edp_terraform_dir/terraform" version 2>/dev/null || true)"
if [[ "$edp_installed" != "Terraform v${edp_terraform_version}"* ]]; then
  edp_install_terraform
fi
case ":$PATH:" in
  *":$edp_terraform_dir:"*) ;;
  *) export PATH="$edp_terraform_dir:$PATH" ;;
esac
"""


def startup_script(environment: str) -> str:
    values = {"@ENVIRONMENT@": resolve_environment(environment), "@MWAA_HOME@": MWAA_HOME,
              "@TERRAFORM_VERSION@": TERRAFORM_VERSION}
    return re.sub("|".join(values), lambda m: values[m.group(0)], STARTUP_SCRIPT)


# -- deploy ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeployTarget:
    bucket: str
    name: str


@dataclass
class DeployResult:
    bucket: str
    name: str
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)  # plugins.zip etc. -> the object version pinned
    updated: bool = False                                   # whether update_environment was called


def deploy_target(environment: str, bucket: str | None = None, name: str | None = None) -> DeployTarget:
    """The MWAA bucket and environment name: given, or from the foundation's published `mwaa` output."""
    mwaa: dict[str, str] = {}
    if not (bucket and name):
        mwaa = (published_outputs(environment, "foundation") or {}).get("mwaa") or {}
    bucket, name = bucket or mwaa.get("bucket_name"), name or mwaa.get("environment_name")
    missing = [f"{what} (--{flag})" for what, flag, value in
               (("bucket_name", "bucket", bucket), ("environment_name", "name", name)) if not value]
    if missing:
        raise ConfigError(
            f"no MWAA {' or '.join(missing)} for environment {environment!r}: the foundation's published outputs "
            f"({parameter_name(environment, 'foundation')}) do not name it (not applied yet, or enable_mwaa is "
            "false); apply the foundation with MWAA enabled or pass the option")
    assert bucket and name  # both named, or refused above
    return DeployTarget(bucket, name)


def mwaa_client(environment: str):
    client = aws_client("mwaa", environment)
    if resolve_environment(environment) == EMULATOR:
        # botocore prepends `api.` to MWAA's host; the emulator is a loopback address with no such name
        client.meta.config.inject_host_prefix = False
    return client


def deploy_files(repo_root: Path = REPO_ROOT) -> dict[str, Path]:
    """Every S3 key `deploy` syncs to the MWAA bucket, with its local file (plugins.zip etc. aside)."""
    files = {DAGS_PREFIX + p.relative_to(repo_root / "dags").as_posix(): p for p in _files(repo_root / "dags")}
    files.update({f"{DAGS_PREFIX}terraform/{p.relative_to(repo_root / 'terraform').as_posix()}": p
                  for p in _files(repo_root / "terraform")})
    files.update({GLUE_PREFIX + p.relative_to(repo_root / "glue_scripts").as_posix(): p
                  for p in _files(repo_root / "glue_scripts")})
    return files


def deploy(environment: str | None = None, bucket: str | None = None, name: str | None = None,
           repo_root: Path = REPO_ROOT, echo: Callable[[str], None] = print) -> DeployResult:
    """Sync dags/, terraform/ and glue_scripts/ to the MWAA bucket, upload the packaged files and point the
    environment at their object versions (skipped when it already runs exactly these)."""
    environment = resolve_environment(environment)
    target = deploy_target(environment, bucket, name)
    result = DeployResult(target.bucket, target.name)
    sync = _BucketSync(aws_client("s3", environment), target.bucket, result)
    with tempfile.TemporaryDirectory() as tmp:
        built = package(Path(tmp), environment, repo_root)
        files = deploy_files(repo_root)
        remote = sync.listing((DAGS_PREFIX, GLUE_PREFIX))
        for key, path in files.items():
            sync.put(key, path, remote.get(key))
        for key in sorted(set(remote) - set(files) - {DAGS_PREFIX}):  # `dags/` itself is Terraform's marker
            sync.delete(key)
        for key, path in built.items():
            version = sync.put(key, path, sync.etag(key), need_version=True)
            assert version is not None  # need_version: put raises when the bucket keeps no versions
            result.versions[key] = version
    echo(f"s3://{target.bucket}: {len(result.uploaded)} uploaded, {len(result.deleted)} deleted, "
         f"{len(files) + len(built) - len(result.uploaded)} unchanged")
    result.updated = _update_environment(mwaa_client(environment), target.name, result.versions)
    echo(f"MWAA environment {target.name}: " + ("updated to the new plugins, requirements and startup script"
                                                 if result.updated else "already runs these versions"))
    return result


def _update_environment(mwaa, name: str, versions: dict[str, str]) -> bool:
    current = mwaa.get_environment(Name=name)["Environment"]
    wanted = {"PluginsS3Path": "plugins.zip", "PluginsS3ObjectVersion": versions["plugins.zip"],
              "RequirementsS3Path": "requirements.txt", "RequirementsS3ObjectVersion": versions["requirements.txt"],
              "StartupScriptS3Path": "startup.sh", "StartupScriptS3ObjectVersion": versions["startup.sh"]}
    # keep the Terraform-written `dags/` spelling if that is what the environment has
    dag_path = current.get("DagS3Path") if (current.get("DagS3Path") or "").rstrip("/") == "dags" else "dags"
    if current.get("DagS3Path") == dag_path and all(current.get(k) == v for k, v in wanted.items()):
        return False
    mwaa.update_environment(Name=name, DagS3Path=dag_path, **wanted)
    return True


class _BucketSync:
    """Uploads what differs (by MD5 ETag, or the SHA-256 kept in metadata) and deletes what is gone."""

    def __init__(self, s3, bucket: str, result: DeployResult):
        self.s3, self.bucket, self.result = s3, bucket, result

    def listing(self, prefixes: tuple[str, ...]) -> dict[str, str]:
        etags = {}
        for prefix in prefixes:
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                etags.update({o["Key"]: o["ETag"].strip('"') for o in page.get("Contents", [])})
        return etags

    def etag(self, key: str) -> str | None:
        try:
            return self.s3.head_object(Bucket=self.bucket, Key=key)["ETag"].strip('"')
        except self.s3.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def put(self, key: str, path: Path, etag: str | None, need_version: bool = False) -> str | None:
        """Upload unless the object holds these bytes; the version of the object now in place when asked."""
        data = path.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        same = etag == hashlib.md5(data, usedforsecurity=False).hexdigest()
        version = None
        if etag is not None and (need_version or not same):
            head = self.s3.head_object(Bucket=self.bucket, Key=key)
            same = same or head.get("Metadata", {}).get(SHA_METADATA) == sha256
            version = head.get("VersionId")
        if not same:
            put = self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, Metadata={SHA_METADATA: sha256})
            self.result.uploaded.append(key)
            version = put.get("VersionId")
        return self._version(key, version) if need_version else None

    def _version(self, key: str, version: str | None) -> str:
        if version is None or version == "null":
            raise ConfigError(f"s3://{self.bucket}/{key} has no object version: MWAA pins plugins, requirements and "
                              "the startup script by version, so the bucket must be versioned")
        return version

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=key)
        self.result.deleted.append(key)
