"""MWAA for the local emulator: the environment calls `edp mwaa deploy` (and the AWS provider) make.

moto 5 has no MWAA, so `install()` registers a small backend for the `airflow` signing name before the
server starts: create, get, update, list and delete environments, and tags, in the service's REST-JSON
shapes. An environment is AVAILABLE at once (no Airflow runs behind it) and an update succeeds at once,
recorded in `LastUpdate`. It keeps the rules a deploy could get wrong: the source bucket must exist, and
every S3 object an environment is pointed at (plugins, requirements, startup script) must exist in it at
the object version named, as MWAA checks before it updates.

Clients must not prepend MWAA's `api.` host prefix to the emulator's address
(`client.meta.config.inject_host_prefix = False`; `edp.mwaa.mwaa_client` does this for `local`).
"""

from __future__ import annotations

import json
import re
import sys
import time
import types
from urllib.parse import unquote

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse

SERVICE = "mwaa"
URL_BASE = r"https?://(api\.)?airflow\.(.+)\.amazonaws\.com"
REQUIRED = ("Name", "ExecutionRoleArn", "SourceBucketArn", "DagS3Path", "NetworkConfiguration")
SETTABLE = ("AirflowConfigurationOptions", "AirflowVersion", "DagS3Path", "EnvironmentClass", "ExecutionRoleArn",
            "LoggingConfiguration", "MaxWorkers", "MinWorkers", "MaxWebservers", "MinWebservers", "Schedulers",
            "NetworkConfiguration", "PluginsS3Path", "PluginsS3ObjectVersion", "RequirementsS3Path",
            "RequirementsS3ObjectVersion", "StartupScriptS3Path", "StartupScriptS3ObjectVersion",
            "SourceBucketArn", "WebserverAccessMode", "WeeklyMaintenanceWindowStart", "KmsKey",
            "EndpointManagement")
# each S3 path an environment may name, with the parameter pinning its object version
PINNED_OBJECTS = (("PluginsS3Path", "PluginsS3ObjectVersion"), ("RequirementsS3Path", "RequirementsS3ObjectVersion"),
                  ("StartupScriptS3Path", "StartupScriptS3ObjectVersion"))


class ServiceError(JsonRESTError):
    def __init__(self, kind: str, message: str, status: int = 400):
        super().__init__(kind, message)
        self.code = status


class MwaaBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.environments: dict[str, dict] = {}

    @property
    def _url_module(self):  # moto reads url_bases/url_paths from a urls module; there is none to import
        paths = {"{0}/environments$": MwaaResponse.dispatch, "{0}/environments/(?P<Name>[^/]+)$": MwaaResponse.dispatch,
                 "{0}/tags/(?P<ResourceArn>.+)$": MwaaResponse.dispatch}
        return types.SimpleNamespace(url_bases=[URL_BASE], url_paths=paths)

    def create_environment(self, name: str, p: dict) -> dict:
        if name in self.environments:
            raise ServiceError("ValidationException", f"Environment {name} already exists.")
        missing = [k for k in REQUIRED if k != "Name" and not p.get(k)]
        if missing:
            raise ServiceError("ValidationException", f"Missing required parameters: {', '.join(missing)}.")
        env = {"Name": name, "Arn": f"arn:{self.partition}:airflow:{self.region_name}:{self.account_id}:environment/{name}",
               "Status": "AVAILABLE", "CreatedAt": time.time(), "AirflowVersion": "3.3.1",
               "EnvironmentClass": "mw1.small", "WebserverUrl": f"{name}.airflow.{self.region_name}.on.aws",
               "ServiceRoleArn": f"arn:{self.partition}:iam::{self.account_id}:role/aws-service-role/"
                                 "airflow.amazonaws.com/AWSServiceRoleForAmazonMWAA",
               "Tags": p.get("Tags", {})}
        self._configure(env, p)
        self.environments[name] = env
        return env

    def get_environment(self, name: str) -> dict:
        if name not in self.environments:
            raise ServiceError("ResourceNotFoundException", f"Environment {name} not found.", 404)
        return self.environments[name]

    def update_environment(self, name: str, p: dict) -> dict:
        env = self.get_environment(name)
        self._configure(env, p)
        env["LastUpdate"] = {"Status": "SUCCESS", "CreatedAt": time.time(), "Source": "API"}
        return env

    def _configure(self, env: dict, p: dict) -> None:
        wanted = {**env, **{k: p[k] for k in SETTABLE if k in p}}
        bucket = wanted["SourceBucketArn"].rsplit(":", 1)[-1]
        for path_key, version_key in PINNED_OBJECTS:
            if wanted.get(path_key):
                self._check_object(bucket, wanted[path_key], wanted.get(version_key))
        env.update(wanted)

    def _check_object(self, bucket: str, key: str, version: str | None) -> None:
        from moto.s3.exceptions import MissingBucket
        from moto.s3.models import s3_backends

        try:
            found = s3_backends[self.account_id][self.partition].get_object(bucket, key, version_id=version)
        except MissingBucket:
            raise ServiceError("ValidationException", f"Source bucket {bucket} does not exist.") from None
        if found is None:
            raise ServiceError("ValidationException",
                               f"Unable to read version {version or '(latest)'} of s3://{bucket}/{key}.")


class MwaaResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name=SERVICE)

    @property
    def backend(self) -> MwaaBackend:
        return mwaa_backends[self.current_account][self.region]

    def _params(self) -> dict:
        return json.loads(self.body or "{}")

    def _path(self, name: str) -> str:
        return unquote(self.uri_match[name])

    def create_environment(self) -> str:
        return json.dumps({"Arn": self.backend.create_environment(self._path("Name"), self._params())["Arn"]})

    def get_environment(self) -> str:
        return json.dumps({"Environment": self.backend.get_environment(self._path("Name"))})

    def update_environment(self) -> str:
        return json.dumps({"Arn": self.backend.update_environment(self._path("Name"), self._params())["Arn"]})

    def delete_environment(self) -> str:
        self.backend.get_environment(self._path("Name"))
        del self.backend.environments[self._path("Name")]
        return "{}"

    def list_environments(self) -> str:
        return json.dumps({"Environments": sorted(self.backend.environments)})

    def _by_arn(self) -> dict:
        arn = self._path("ResourceArn")
        return self.backend.get_environment(arn.rsplit("/", 1)[-1])

    def list_tags_for_resource(self) -> str:
        return json.dumps({"Tags": self._by_arn().get("Tags", {})})

    def tag_resource(self) -> str:
        self._by_arn().setdefault("Tags", {}).update(self._params().get("Tags", {}))
        return "{}"

    def untag_resource(self) -> str:
        env = self._by_arn()
        for key in self.querystring.get("tagKeys", []):
            env.get("Tags", {}).pop(key, None)
        return "{}"


mwaa_backends = BackendDict(MwaaBackend, "mwaa")


def install() -> None:
    """Register the backend with moto's server under MWAA's `airflow` signing name (idempotent)."""
    from moto import backend_index

    if "moto.mwaa" in sys.modules:
        return
    module = types.ModuleType("moto.mwaa")
    module.mwaa_backends = mwaa_backends
    sys.modules["moto.mwaa"] = module
    backend_index.backend_url_patterns.append(("mwaa", re.compile(URL_BASE)))
