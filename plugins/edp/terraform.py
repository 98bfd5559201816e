"""A thin runner over the real `terraform` CLI: init, workspace, plan to a file, apply that plan, destroy, output.

Why not python-terraform: its last release (0.10.1, 2019) passes `-force` to
destroy, which Terraform >= 0.15 rejects, `output(name)` raises TypeError, and a
positional directory breaks; wrapping it would mean working around most of it.
The CLI's own contract (`-input=false`, `-no-color`, `-detailed-exitcode`,
`output -json`) is small and stable, so we call it directly and stream its log.

Offline use: Terraform finds providers through its own configuration — a CLI
config named by TF_CLI_CONFIG_FILE (`provider_installation { filesystem_mirror
... }`) or the plugin dir given as `plugin_dir` / EDP_TF_PLUGIN_DIR. Nothing here
knows any machine's paths.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
REDACTED = "***sensitive***"


class TerraformError(RuntimeError):
    """Terraform exited non-zero; the message holds the command, the exit code and the end of its output."""


class DataLossRefused(TerraformError):
    """A plan would delete a data-bearing resource; DAGs never apply such a plan."""


# The data-loss guard classifies every resource type the modules and stacks create, by exact name, so a
# sub-resource (a bucket's policy, a key's alias, a secret's version) is never mistaken for the thing it
# configures; tests/test_data_loss_guard.py fails when a module adds a type that is in neither set.
# Deleting one of these loses data nobody can rebuild from the repo or the lake:
DATA_BEARING = frozenset({
    "aws_s3_bucket", "aws_glue_catalog_database", "aws_glue_catalog_table", "aws_kms_key",
    "aws_secretsmanager_secret", "aws_db_instance", "aws_rds_cluster", "aws_dynamodb_table", "aws_efs_file_system",
    # Redshift Serverless keeps what was loaded into the namespace (tables, users, grants); the provider has
    # no final-snapshot argument for it, so no plan can show the way back: its deletion is always refused.
    "aws_redshiftserverless_namespace",
})
# ...unless the deletion leaves a way back, which the plan's `before` state shows (what a rule says is missing):
RECOVERABLE_DELETE: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
    "aws_db_instance": ("a final snapshot", lambda before: before.get("skip_final_snapshot") is False),
    "aws_rds_cluster": ("a final snapshot", lambda before: before.get("skip_final_snapshot") is False),
    # a scheduled deletion can be cancelled (`restore-secret`) for recovery_window_in_days; 0 deletes at once
    "aws_secretsmanager_secret": ("a recovery window", lambda before: (before.get("recovery_window_in_days") or 0) > 0),
}
# Rebuilt from the repo or recomputed by the next apply (configuration, compute, networking, IAM, pointers);
# their deletion loses nothing stored. Log groups hold operational logs that expire by their own retention.
NOT_DATA_BEARING = frozenset({
    "aws_athena_workgroup", "aws_cloudwatch_dashboard", "aws_cloudwatch_event_rule", "aws_cloudwatch_event_target",
    "aws_cloudwatch_log_group", "aws_cloudwatch_metric_alarm", "aws_db_parameter_group", "aws_db_subnet_group",
    "aws_default_security_group", "aws_dms_endpoint", "aws_dms_replication_instance",
    "aws_dms_replication_subnet_group", "aws_dms_replication_task", "aws_dms_s3_endpoint", "aws_ecr_lifecycle_policy",
    "aws_ecr_repository", "aws_ecs_cluster", "aws_ecs_task_definition", "aws_eip", "aws_flow_log",
    "aws_glue_connection", "aws_glue_crawler", "aws_glue_job", "aws_glue_security_configuration",
    "aws_iam_openid_connect_provider", "aws_iam_policy", "aws_iam_role", "aws_iam_role_policy",
    "aws_iam_role_policy_attachment", "aws_internet_gateway", "aws_kms_alias", "aws_mwaa_environment",
    "aws_nat_gateway", "aws_redshiftserverless_usage_limit", "aws_redshiftserverless_workgroup", "aws_route",
    "aws_route_table", "aws_route_table_association", "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_logging", "aws_s3_bucket_ownership_controls", "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block", "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning", "aws_s3_object", "aws_secretsmanager_secret_version", "aws_security_group",
    "aws_security_group_rule", "aws_sfn_state_machine", "aws_sns_topic", "aws_sns_topic_policy",
    "aws_sns_topic_subscription", "aws_ssm_parameter", "aws_subnet", "aws_vpc", "aws_vpc_endpoint",
})


def data_loss(plan: dict[str, Any]) -> list[str]:
    """Why applying `plan` (Terraform's `show -json`) would lose data: one line per offending resource.

    A replacement deletes too, so any plan whose actions include "delete" counts."""
    problems = []
    for change in plan.get("resource_changes", []):
        kind = change["type"]
        if kind not in DATA_BEARING or "delete" not in change["change"]["actions"]:
            continue
        if kind not in RECOVERABLE_DELETE:
            problems.append(f"{change['address']} ({kind}) would be deleted")
            continue
        missing, recoverable = RECOVERABLE_DELETE[kind]
        if not recoverable(change["change"].get("before") or {}):
            problems.append(f"{change['address']} ({kind}) would be deleted without {missing}")
    return problems


class TerraformRunner:
    """Runs Terraform in one working directory; every call streams Terraform's log to `echo`."""

    def __init__(self, working_dir: str | Path, *, binary: str | None = None, env: dict[str, str] | None = None,
                 var_files: Iterable[str] = (), lock_timeout: str = "5m", echo: Callable[[str], None] | None = None):
        self.working_dir = Path(working_dir)
        if not self.working_dir.is_dir():
            raise TerraformError(f"Terraform working directory {self.working_dir} does not exist")
        self.binary = binary or shutil.which("terraform") or ""
        if not self.binary:
            raise TerraformError("the terraform CLI is not on PATH (https://developer.hashicorp.com/terraform/install)")
        self.env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", **(env or {})}
        self.var_files = [f"-var-file={path}" for path in var_files]  # an environment's values, before `variables`
        self.lock_timeout = lock_timeout
        self.echo = echo or log.info

    # -- commands ----------------------------------------------------------------------------
    def init(self, backend_config: dict[str, str] | None = None, backend: bool = True,
             plugin_dir: str | None = None, upgrade: bool = False, backend_config_files: Iterable[str] = ()) -> None:
        args = ["init", f"-backend={'true' if backend else 'false'}", f"-lock-timeout={self.lock_timeout}"]
        args += [f"-backend-config={path}" for path in backend_config_files]
        args += [f"-backend-config={k}={v}" for k, v in (backend_config or {}).items()]
        plugin_dir = plugin_dir or self.env.get("EDP_TF_PLUGIN_DIR")
        if plugin_dir:
            args.append(f"-plugin-dir={plugin_dir}")
        if upgrade:
            args.append("-upgrade")
        self._run(args)

    def workspace(self, name: str) -> None:
        """Select `name`, creating it on first use (one state per session or environment)."""
        current = self._run(["workspace", "show"], quiet=True).strip()
        if current == name:
            return
        existing = {w.strip(" *") for w in self._run(["workspace", "list"], quiet=True).splitlines() if w.strip()}
        self._run(["workspace", "select" if name in existing else "new", name])

    def plan(self, plan_file: str = "tfplan", variables: dict[str, Any] | None = None,
             targets: Iterable[str] = (), destroy: bool = False) -> bool:
        """Write a saved plan; True when it changes anything."""
        args = ["plan", f"-out={plan_file}", "-detailed-exitcode", f"-lock-timeout={self.lock_timeout}"]
        args += [f"-target={t}" for t in targets]
        if destroy:
            args.append("-destroy")
        with self._var_file(variables) as var_args:
            code = self._run(args + self.var_files + var_args, ok_codes=(0, 2), want_code=True)
        return code == 2

    def apply(self, plan_file: str = "tfplan", protect_data: bool = False) -> None:
        """Apply exactly the saved plan (no re-planning, so what was reviewed is what runs).

        With `protect_data`, a plan that deletes a data-bearing resource is refused before anything runs.
        """
        if protect_data:
            problems = data_loss(self.show_plan(plan_file))
            if problems:
                raise DataLossRefused(f"refusing to apply {plan_file} in {self.working_dir}: it would lose data:\n  "
                                      + "\n  ".join(problems))
        self._run(["apply", f"-lock-timeout={self.lock_timeout}", plan_file])

    def destroy(self, variables: dict[str, Any] | None = None, targets: Iterable[str] = ()) -> None:
        args = ["destroy", "-auto-approve", f"-lock-timeout={self.lock_timeout}"] + [f"-target={t}" for t in targets]
        with self._var_file(variables) as var_args:
            self._run(args + self.var_files + var_args)

    def validate(self) -> None:
        """`terraform validate` of the initialised working directory (needs `init`, backend or not)."""
        self._run(["validate"])

    def show_plan(self, plan_file: str = "tfplan") -> dict[str, Any]:
        """A saved plan as Terraform's JSON (resource_changes, planned_values...), for review or tests."""
        return json.loads(self._run(["show", "-json", plan_file], quiet=True))

    def output(self, include_sensitive: bool = False) -> dict[str, Any]:
        """Output values by name; sensitive ones are redacted unless asked for (never put them in XCom)."""
        raw = json.loads(self._run(["output", "-json"], quiet=True) or "{}")
        return {name: (o["value"] if include_sensitive or not o.get("sensitive") else REDACTED) for name, o in raw.items()}

    # -- plumbing ----------------------------------------------------------------------------
    def _var_file(self, variables: dict[str, Any] | None):
        return _VarFile(variables)

    def _run(self, args: list[str], quiet: bool = False, ok_codes: tuple[int, ...] = (0,), want_code: bool = False):
        """Run one command. `quiet` ones return machine-readable stdout (warnings on stderr stay out of it)."""
        words = 2 if args[0] == "workspace" else 1  # flags go after the (sub)command
        flags = ["-no-color"] + (["-input=false"] if args[0] in ("plan", "apply", "destroy", "init") else [])
        argv = [self.binary, *args[:words], *flags, *args[words:]]
        self.echo(f"$ terraform {' '.join(args)}")
        if quiet:
            proc = subprocess.run(argv, cwd=self.working_dir, env=self.env, capture_output=True, text=True)
            code, out, tail = proc.returncode, proc.stdout, (proc.stdout + proc.stderr).splitlines()[-40:]
        else:
            code, out, tail = self._stream(argv)
        if code not in ok_codes:
            raise TerraformError(f"`terraform {' '.join(args)}` in {self.working_dir} failed with exit code {code}:\n"
                                 + "\n".join(tail))
        return code if want_code else out

    def _stream(self, argv: list[str]) -> tuple[int, str, list[str]]:
        proc = subprocess.Popen(argv, cwd=self.working_dir, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        assert proc.stdout is not None  # stdout=PIPE
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            self.echo(lines[-1])
        return proc.wait(), "\n".join(lines), lines[-40:]


class _VarFile:
    """Variables as a temporary `-var-file` JSON, so lists and maps keep their types."""

    def __init__(self, variables: dict[str, Any] | None):
        self.variables = variables
        self.path: str | None = None

    def __enter__(self) -> list[str]:
        if not self.variables:
            return []
        fd, self.path = tempfile.mkstemp(suffix=".tfvars.json")
        with os.fdopen(fd, "w") as fh:
            json.dump(self.variables, fh)
        return [f"-var-file={self.path}"]

    def __exit__(self, *exc) -> None:
        if self.path:
            os.unlink(self.path)
