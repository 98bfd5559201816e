"""Where each environment's Terraform lives and how it is initialised, resolved in one place.

Every environment has two roots under `terraform/environments/<env>/`: `foundation` (network, lake,
IAM, processing, orchestration: applied by CI or a person) and `session` (the costly modes a DAG turns
on and off, in a state of its own). `local` keeps its state under `.edp/terraform/` and points the AWS
provider at the local emulator (EDP_AWS_ENDPOINT); the AWS environments keep state in the S3 bucket
named by EDP_TF_STATE_BUCKET, each root under its own key, locked with S3's lockfile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edp.settings import REPO_ROOT, ConfigError, local_paths

ENVIRONMENTS = ("local", "dev", "staging", "prod")
LAYERS = ("foundation", "session")
LOCAL_REGION = "eu-central-1"  # the region environments/local and the module examples name


def resolve_environment(value: str | None = None) -> str:
    environment = value or os.environ.get("EDP_ENVIRONMENT", "local")
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment {environment!r}; use one of {', '.join(ENVIRONMENTS)}")
    return environment


def aws_endpoint() -> str:
    endpoint = os.environ.get("EDP_AWS_ENDPOINT", "")
    if not endpoint:
        raise ConfigError("the local environment needs the AWS emulator: start it with `edp emulator` and set "
                          "EDP_AWS_ENDPOINT to the URL it prints")
    return endpoint


def emulator_client(service: str, endpoint: str, region: str = LOCAL_REGION):
    """A boto3 client pointed at the local AWS emulator (its credentials are placeholders moto accepts)."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id="emulator", aws_secret_access_key="emulator")


def aws_client(service: str, environment: str):
    """A boto3 client for `environment`: the emulator for local, the default credential chain otherwise."""
    import boto3

    if resolve_environment(environment) == "local":
        return emulator_client(service, aws_endpoint())
    return boto3.client(service)


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
    """One root module of one environment, with everything `init` and `plan` need."""

    environment: str
    layer: str
    working_dir: Path
    data_dir: Path                      # .terraform/, plan files: never inside the repo
    backend_config: dict[str, str] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def plan_file(self) -> str:
        return str(self.data_dir / "tfplan")

    def runner(self, echo=None):
        from edp.terraform import TerraformRunner

        self.data_dir.mkdir(parents=True, exist_ok=True)
        return TerraformRunner(self.working_dir, env={"TF_DATA_DIR": str(self.data_dir)}, echo=echo)


def terraform_root(environment: str, layer: str) -> TerraformRoot:
    environment = resolve_environment(environment)
    if layer not in LAYERS:
        raise ConfigError(f"unknown Terraform layer {layer!r}; use one of {', '.join(LAYERS)}")
    working_dir = terraform_dir() / "environments" / environment / layer
    if not working_dir.is_dir():
        raise ConfigError(f"environment {environment!r} has no {layer} root at {working_dir}")
    state_dir = local_paths().root / "terraform" / environment
    data_dir = state_dir / f".terraform-{layer}"
    if environment == "local":
        variables: dict[str, Any] = {"endpoint": aws_endpoint()}
        if layer == "session":
            variables["foundation_state_path"] = str(state_dir / "foundation.tfstate")
        return TerraformRoot(environment, layer, working_dir, data_dir,
                             backend_config={"path": str(state_dir / f"{layer}.tfstate")}, variables=variables)
    bucket = os.environ.get("EDP_TF_STATE_BUCKET", "")
    if not bucket:
        raise ConfigError(f"environment {environment!r} keeps Terraform state in S3: set EDP_TF_STATE_BUCKET")
    return TerraformRoot(environment, layer, working_dir, data_dir, backend_config={"bucket": bucket},
                         variables={"state_bucket": bucket})
