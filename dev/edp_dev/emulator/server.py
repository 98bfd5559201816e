"""The local AWS emulator: a moto server on a loopback port, with the calls moto lacks supplied here.

Terraform's AWS provider calls Step Functions' ValidateStateMachineDefinition
before it creates a state machine and ListStateMachineVersions after; moto 5
implements neither, so the provider would stall retrying.  Rather than weaken the Terraform, the launcher adds the
action to moto's Step Functions responses before serving: it checks the
definition the way the service does for the structural errors that matter
(JSON, StartAt, every transition's target, state types) and answers in the
service's shape.

    python -m edp_dev.emulator.server --port 4566      # serve until interrupted
    AwsEmulator().start() / .stop()              # from code and tests
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from edp.environments import EMULATOR_REGION, emulator_client
from edp_dev.ports import free_port

STATE_TYPES = {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}
TERMINAL_TYPES = {"Succeed", "Fail"}


def diagnose(definition: str) -> list[dict]:
    """Structural problems of an ASL definition, as ValidateStateMachineDefinition diagnostics."""
    try:
        doc = json.loads(definition)
    except (TypeError, json.JSONDecodeError) as exc:
        return [_diag("INVALID_JSON_DESCRIPTION", f"definition is not valid JSON: {exc}", "/")]
    if not isinstance(doc, dict) or not isinstance(doc.get("States"), dict):
        return [_diag("SCHEMA_VALIDATION_FAILED", "definition needs a States object", "/States")]
    return _diagnose_states(doc, "")


def _diagnose_states(doc: dict, prefix: str) -> list[dict]:
    states = doc["States"]
    problems = []
    if doc.get("StartAt") not in states:
        problems.append(_diag("SCHEMA_VALIDATION_FAILED", f"StartAt {doc.get('StartAt')!r} is not a state",
                              f"{prefix}/StartAt"))
    for name, state in states.items():
        where = f"{prefix}/States/{name}"
        kind = state.get("Type") if isinstance(state, dict) else None
        if kind not in STATE_TYPES:
            problems.append(_diag("SCHEMA_VALIDATION_FAILED", f"state {name!r} has unknown Type {kind!r}", f"{where}/Type"))
            continue
        targets = [("Next", state.get("Next")), ("Default", state.get("Default"))]
        targets += [(f"Choices/{i}/Next", c.get("Next")) for i, c in enumerate(state.get("Choices", []))]
        targets += [(f"Catch/{i}/Next", c.get("Next")) for i, c in enumerate(state.get("Catch", []))]
        for field, target in targets:
            if target is not None and target not in states:
                problems.append(_diag("SCHEMA_VALIDATION_FAILED", f"{field} {target!r} of state {name!r} is not a state",
                                      f"{where}/{field}"))
        if kind not in TERMINAL_TYPES | {"Choice"} and not state.get("Next") and not state.get("End"):
            problems.append(_diag("SCHEMA_VALIDATION_FAILED", f"state {name!r} has neither Next nor End", where))
        inner = state.get("ItemProcessor") or state.get("Iterator")
        if kind == "Map" and isinstance(inner, dict) and isinstance(inner.get("States"), dict):
            problems += _diagnose_states(inner, f"{where}/ItemProcessor")
    return problems


def _diag(code: str, message: str, location: str) -> dict:
    return {"severity": "ERROR", "code": code, "message": message, "location": location}


def install_missing_calls(container_outputs: Path | None = None) -> None:
    """Teach moto the calls the AWS provider makes and moto lacks: Step Functions here, the rest in one
    module each in `edp_dev.emulator` (DMS, Glue, MWAA, RDS, Redshift Serverless, bucket-policy conditions,
    version deletes in a suspended bucket)."""
    from moto.stepfunctions.responses import StepFunctionResponse

    from edp_dev.emulator import dms, ecs, glue, mwaa, policy_conditions, rds, redshift_serverless, s3_versions

    for supplement in (dms, glue, rds, policy_conditions, redshift_serverless, mwaa, s3_versions):
        supplement.install()
    ecs.install(container_outputs)

    def validate_state_machine_definition(self) -> str:
        diagnostics = diagnose(self._get_param("definition"))
        return json.dumps({"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics, "truncated": False})

    def list_state_machine_versions(self) -> str:
        # EDP never publishes versions; the provider lists them after every create and read
        return json.dumps({"stateMachineVersions": []})

    for name, handler in (("validate_state_machine_definition", validate_state_machine_definition),
                          ("list_state_machine_versions", list_state_machine_versions)):
        if not hasattr(StepFunctionResponse, name):
            setattr(StepFunctionResponse, name, handler)


class AwsEmulator:
    """A moto server in a child process on 127.0.0.1; `endpoint` is what boto3 and Terraform point at."""

    def __init__(self, port: int | None = None, log_file: Path | None = None, container_outputs: Path | None = None):
        """`container_outputs`: files the dbt task's container would upload (see edp_dev.emulator.ecs)."""
        self.port = port or free_port()
        self.container_outputs = container_outputs
        self.recording = Path(log_file or Path(os.environ.get("TMPDIR", "/tmp")) / "edp-emulator").with_suffix(
            f".{self.port}.recording.jsonl")
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_file = log_file
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> str:  # its imports take seconds, minutes on a loaded machine
        env = {**os.environ, "MOTO_PORT": str(self.port),  # moto's own internal calls go to this port too
               "MOTO_RECORDER_FILEPATH": str(self.recording),
               "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}  # AWS-managed policies exist in every account
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        argv = [sys.executable, "-m", "edp_dev.emulator.server", "--port", str(self.port)]
        if self.container_outputs:
            argv += ["--container-outputs", str(self.container_outputs)]
        self.proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"AWS emulator exited with code {self.proc.returncode}; see {self.log_file}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).close()
                return self.endpoint
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"AWS emulator did not answer on {self.endpoint} within {timeout:.0f}s")

    def configure(self, settings: dict) -> None:
        """moto's runtime config, e.g. {"stepfunctions": {"execute_state_machine": True}}."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/config", data=json.dumps(settings).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=5).close()

    def record(self, on: bool = True) -> None:
        """Start (from empty) or stop recording every request the emulator serves."""
        for action in (("reset-recording", "start-recording") if on else ("stop-recording",)):
            urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/recorder/{action}", data=b"",
                                                          method="POST"), timeout=5).close()

    def recorded_calls(self, user_agent: str = "") -> list[tuple[str, str, dict]]:
        """(X-Amz-Target prefix, operation, parameters) of the recorded JSON-protocol calls, in order; only
        those whose User-Agent contains `user_agent` (e.g. "Botocore": Python's, not Terraform's)."""
        import base64

        calls = []
        for line in self.recording.read_text().splitlines() if self.recording.exists() else []:
            entry = json.loads(line)
            headers = {k.lower(): v for k, v in entry["headers"].items()}
            target = headers.get("x-amz-target", "")
            if "." not in target or user_agent not in headers.get("user-agent", ""):
                continue
            body = base64.b64decode(entry["body"]) if entry.get("body_encoded") else (entry.get("body") or "")
            try:
                params = json.loads(body or "{}")
            except (ValueError, UnicodeDecodeError):
                continue
            prefix, operation = target.rsplit(".", 1)
            calls.append((prefix, operation, params))
        return calls

    def client(self, service: str, region: str = EMULATOR_REGION):
        """A boto3 client pointed at the emulator."""
        return emulator_client(service, self.endpoint, region)

    def stop(self) -> None:
        """Terminate the server and reap it, so its port is free when this returns.

        The server is one process (moto's threaded werkzeug, no reloader) in the caller's process group, so
        a signal to the group (Ctrl-C in a terminal, `timeout`) reaches it as well; a caller stopped by a
        lone SIGTERM must call this (`edp emulator` does, from its handler)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def __enter__(self) -> AwsEmulator:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="moto server on loopback, with EDP's missing calls supplied")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--container-outputs", type=Path, default=None,
                        help="folder of dbt artifacts the dbt task's container stands in with (tests)")
    args = parser.parse_args(argv)
    install_missing_calls(args.container_outputs)
    from moto.server import main as moto_main

    moto_main(["-H", "127.0.0.1", "-p", str(args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
