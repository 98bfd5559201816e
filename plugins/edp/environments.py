"""Where each environment's Terraform lives and how it is initialised, resolved in one place.

There are two Terraform roots, `terraform/stacks/foundation` (network, lake, IAM, processing,
orchestration: applied by CI or a person) and `terraform/stacks/session` (the costly modes a DAG turns on
and off, in a state of its own). An environment is values, not a copy: `terraform/environments/<env>.tfvars`
(read by both roots) and `<env>.<layer>.backend.hcl` (where each layer's state lives). The AWS environments
keep state in the S3 bucket named by EDP_TF_STATE_BUCKET, each layer under its own key, locked with S3's
lockfile. The `emulator` environment runs a private copy of the root with `emulator_override.tf` added (local
backend, placeholder credentials) and AWS_ENDPOINT_URL pointing at the local AWS emulator (EDP_AWS_ENDPOINT);
its state lives under `.edp/terraform/emulator/`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edp.settings import REPO_ROOT, ConfigError, local_paths

ENVIRONMENTS = ("emulator", "dev", "staging", "prod")
EMULATOR = "emulator"  # the environment that runs against the local AWS emulator
LAYERS = ("foundation", "session")
EMULATOR_REGION = "eu-central-1"  # the region emulator.tfvars and the module examples name
OVERRIDE_FILE = "emulator_override.tf"


def resolve_environment(value: str | None = None) -> str:
    environment = value or os.environ.get("EDP_ENVIRONMENT", EMULATOR)
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment {environment!r}; use one of {', '.join(ENVIRONMENTS)}")
    return environment


def aws_endpoint() -> str:
    endpoint = os.environ.get("EDP_AWS_ENDPOINT", "")
    if not endpoint:
        raise ConfigError("the emulator environment needs the AWS emulator: start it with `edp emulator` and set "
                          "EDP_AWS_ENDPOINT to the URL it prints")
    return endpoint


def emulator_client(service: str, endpoint: str, region: str = EMULATOR_REGION):
    """A boto3 client pointed at the local AWS emulator (its credentials are placeholders moto accepts)."""
    import boto3

    client: Any = boto3.client  # any service by name (the stubs type each literal name apart)
    return client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id="emulator", aws_secret_access_key="emulator")


def aws_client(service: str, environment: str):
    """A boto3 client for `environment`: the local AWS emulator for `emulator`, the default credential chain
    otherwise."""
    import boto3

    if resolve_environment(environment) == EMULATOR:
        return emulator_client(service, aws_endpoint())
    client: Any = boto3.client
    return client(service)


def parameter_name(environment: str, layer: str) -> str:
    """The SSM parameter a layer publishes its pipeline-facing outputs to: `/edp-<env>/<layer>`."""
    if layer not in LAYERS:
        raise ConfigError(f"unknown Terraform layer {layer!r}; use one of {', '.join(LAYERS)}")
    return f"/edp-{resolve_environment(environment)}/{layer}"


def published_outputs(environment: str, layer: str) -> dict[str, Any] | None:
    """A layer's outputs as the pipeline sees them (its SSM parameter), or None when it is not published:
    workers read names from here instead of Terraform state, which needs the CLI and state access."""
    import json

    ssm = aws_client("ssm", environment)
    try:
        return json.loads(ssm.get_parameter(Name=parameter_name(environment, layer))["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        return None


def terraform_dir() -> Path:
    """The repo's terraform/ folder (on MWAA, deployed beside the DAGs; EDP_TERRAFORM_DIR says where)."""
    return Path(os.environ.get("EDP_TERRAFORM_DIR", REPO_ROOT / "terraform"))


@dataclass(frozen=True)
class TerraformRoot:
    """One layer of one environment, with everything `init` and `plan` need."""

    environment: str
    layer: str
    working_dir: Path
    data_dir: Path                      # .terraform/, plan files: never inside the repo
    backend_config: dict[str, str] = field(default_factory=dict)
    backend_config_files: tuple[str, ...] = ()
    var_files: tuple[str, ...] = ()     # the environment's values file
    variables: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def plan_file(self) -> str:
        return str(self.data_dir / "tfplan")

    @property
    def runner_env(self) -> dict[str, str]:
        return {"TF_DATA_DIR": str(self.data_dir), **self.env}

    def runner(self, echo=None):
        from edp.terraform import TerraformRunner

        self.data_dir.mkdir(parents=True, exist_ok=True)
        return TerraformRunner(self.working_dir, env=self.runner_env, var_files=self.var_files, echo=echo)

    def init(self, runner) -> None:
        runner.init(backend_config=self.backend_config, backend_config_files=self.backend_config_files)


def terraform_root(environment: str, layer: str) -> TerraformRoot:
    environment = resolve_environment(environment)
    if layer not in LAYERS:
        raise ConfigError(f"unknown Terraform layer {layer!r}; use one of {', '.join(LAYERS)}")
    tf = terraform_dir()
    stack = tf / "stacks" / layer
    values = tf / "environments" / f"{environment}.tfvars"
    for needed in (stack, values):
        if not needed.exists():
            raise ConfigError(f"environment {environment!r} has no {layer} root: {needed} is missing")
    state_dir = local_paths().root / "terraform" / environment
    data_dir = state_dir / f".terraform-{layer}"
    if environment == EMULATOR:
        endpoint = aws_endpoint()
        variables: dict[str, Any] = {}
        if layer == "session":
            variables["foundation_state_path"] = str(state_dir / "foundation.tfstate")
        return TerraformRoot(environment, layer, emulator_copy(stack, state_dir / "roots"), data_dir,
                             backend_config={"path": str(state_dir / f"{layer}.tfstate")},
                             var_files=(str(values),), variables=variables, env={"AWS_ENDPOINT_URL": endpoint})
    backend = tf / "environments" / f"{environment}.{layer}.backend.hcl"
    if not backend.is_file():
        raise ConfigError(f"environment {environment!r} has no {layer} backend config: {backend} is missing")
    bucket = os.environ.get("EDP_TF_STATE_BUCKET", "")
    if not bucket:
        raise ConfigError(f"environment {environment!r} keeps Terraform state in S3: set EDP_TF_STATE_BUCKET")
    return TerraformRoot(environment, layer, stack, data_dir, backend_config={"bucket": bucket},
                         backend_config_files=(str(backend),), var_files=(str(values),),
                         variables={"state_bucket": bucket})


def emulator_copy(root_dir: Path, workdir: Path) -> Path:
    """A private copy of the Terraform root at `root_dir` (a stack, or a module example in the tests) with
    the emulator's override file added, under `workdir`; returns the copied root.

    The whole terraform/ tree is copied, so the root keeps its place: relative module sources and paths
    (`../../modules/...`, `${path.root}/../../../glue_scripts`) resolve as in the repo, and the repo's roots
    never carry emulator settings. Copies are named by their content, so concurrent runs share one and a
    change to any file makes a new one."""
    import hashlib
    import shutil
    import uuid

    tf = terraform_dir().resolve()
    relative = Path(root_dir).resolve().relative_to(tf)
    files = sorted(p for p in tf.rglob("*") if p.is_file() and not _ignored(p.relative_to(tf)))
    digest = hashlib.sha256(str(relative).encode())
    for path in files:
        digest.update(str(path.relative_to(tf)).encode() + b"\0" + path.read_bytes())
    slug = "-".join(relative.parts)
    dest = Path(workdir) / f"{slug}-{digest.hexdigest()[:16]}"
    copied = dest / "terraform" / relative
    if copied.is_dir():
        return copied
    staging = Path(workdir) / f".{slug}-{uuid.uuid4().hex}"
    for path in files:
        target = staging / "terraform" / path.relative_to(tf)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    for beside in ("glue_scripts", "dags"):  # what roots read relative to the repo (scripts, the task list)
        if (tf.parent / beside).is_dir():
            (staging / beside).symlink_to(tf.parent / beside, target_is_directory=True)
    shutil.copyfile(tf / "environments" / OVERRIDE_FILE, staging / "terraform" / relative / OVERRIDE_FILE)
    try:
        staging.rename(dest)
    except OSError:  # another run made the same copy first
        shutil.rmtree(staging, ignore_errors=True)
    for stale in Path(workdir).glob(f"{slug}-*"):  # earlier versions of this root
        if stale != dest:
            shutil.rmtree(stale, ignore_errors=True)
    return copied


def _ignored(relative: Path) -> bool:
    """Working files a root may hold (.terraform/ and other hidden folders, state, plans, lock files), which a
    copy must not carry."""
    name = relative.name
    return (any(part.startswith(".") or part == "__pycache__" for part in relative.parts[:-1])
            or name == ".terraform.lock.hcl" or name == "tfplan" or ".tfstate" in name)
