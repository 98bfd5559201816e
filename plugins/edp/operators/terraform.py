"""TerraformOperator: Terraform from Airflow, shaped like the amazon provider's operators.

The runner (`edp.terraform.TerraformRunner`) owns the CLI; the operator only
declares its templated fields, streams Terraform's log into the task log and
returns the outputs (sensitive ones redacted) for XCom.  Every change, a
destroy included, goes through a saved plan that is checked before it is
applied: by default a plan that would delete a data-bearing resource is
refused (`edp.terraform.data_loss`), so no DAG can lose stored data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from edp.terraform import TerraformRunner

COMMANDS = ("plan", "plan_and_apply", "destroy", "output")


class TerraformOperator(BaseOperator):
    """Run Terraform in a working directory and push its outputs to XCom.

    :param working_dir: the Terraform root module to run in.
    :param command: ``plan`` (saved plan only), ``plan_and_apply`` (plan to ``plan_file``, then apply
        exactly that plan), ``destroy`` or ``output``.
    :param workspace: workspace to select (created on first use); one state per session.
    :param variables: input variables; lists and maps keep their types (passed as a JSON var file).
    :param var_files: ``-var-file`` values files (an environment's values), read before ``variables``.
    :param backend_config: ``-backend-config`` key/values for ``init``.
    :param backend_config_files: ``-backend-config`` files for ``init`` (an environment's backend config).
    :param targets: resource addresses for ``-target`` (plan and destroy).
    :param plan_file: where the saved plan is written, relative to ``working_dir``.
    :param lock_timeout: how long to wait for the state lock.
    :param protect_data: refuse any plan that deletes a data-bearing resource (default on; DAGs keep it on).
    :param env: extra environment for Terraform (e.g. ``TF_DATA_DIR``).
    :return: the module's outputs, sensitive values redacted.
    """

    template_fields: Sequence[str] = ("working_dir", "workspace", "variables", "var_files", "backend_config",
                                      "backend_config_files", "targets", "plan_file", "env")
    ui_color = "#7b42bc"

    def __init__(self, *, working_dir: str, command: str = "plan_and_apply", workspace: str | None = None,
                 variables: dict[str, Any] | None = None, var_files: Sequence[str] = (),
                 backend_config: dict[str, str] | None = None, backend_config_files: Sequence[str] = (),
                 targets: Sequence[str] = (), plan_file: str = "tfplan", lock_timeout: str = "5m",
                 protect_data: bool = True, env: dict[str, str] | None = None, **kwargs):
        super().__init__(**kwargs)
        if command not in COMMANDS:
            raise ValueError(f"{self.task_id}: unknown Terraform command {command!r}; use one of {', '.join(COMMANDS)}")
        self.working_dir = working_dir
        self.command = command
        self.workspace = workspace
        self.variables = variables
        self.var_files = var_files
        self.backend_config = backend_config
        self.backend_config_files = backend_config_files
        self.targets = targets
        self.plan_file = plan_file
        self.lock_timeout = lock_timeout
        self.protect_data = protect_data
        self.env = env

    def execute(self, context) -> dict[str, Any]:
        runner = TerraformRunner(self.working_dir, lock_timeout=self.lock_timeout, echo=self.log.info, env=self.env,
                                 var_files=self.var_files)
        runner.init(backend_config=self.backend_config, backend_config_files=self.backend_config_files)
        if self.workspace:
            runner.workspace(self.workspace)
        if self.command != "output":
            destroy = self.command == "destroy"
            changed = runner.plan(self.plan_file, self.variables, self.targets, destroy=destroy)
            self.log.info("plan %s", "has changes" if changed else "is empty")
            if changed and self.command != "plan":
                runner.apply(self.plan_file, protect_data=self.protect_data)
        return runner.output()
