"""Redshift Serverless for the local emulator: the control-plane calls Terraform's AWS provider makes.

moto 5 has no Redshift Serverless, so the `serving` module could only be planned locally. `install()`
registers a small moto backend for the `redshift-serverless` signing name before the server starts:
namespaces, workgroups, usage limits and tags, answered in the service's JSON shapes (everything is
AVAILABLE at once; there is no database behind the endpoint). It keeps the service's rules that a
module could get wrong: capacity in steps of 8 RPUs, a namespace's default role among its roles, a
managed admin password excluding a given one, a namespace in use by a workgroup cannot be deleted. A
managed admin password becomes a real secret in moto's Secrets Manager, under the key the caller named.
"""

from __future__ import annotations

import json
import re
import sys
import types
import uuid
from datetime import UTC, datetime

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse

SERVICE = "redshift-serverless"
URL_BASE = r"https?://redshift-serverless\.(.+)\.amazonaws\.com"
# what the service reports for a workgroup's parameters nobody set
DEFAULT_PARAMETERS = {
    "auto_mv": "true", "datestyle": "ISO, MDY", "enable_case_sensitive_identifier": "false",
    "enable_user_activity_logging": "true", "query_group": "default", "search_path": "$user, public",
    "max_query_execution_time": "14400", "require_ssl": "false", "use_fips_ssl": "false",
}


class ServiceError(JsonRESTError):
    def __init__(self, kind: str, message: str):
        super().__init__(kind, message)


def _not_found(what: str, name: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"{what} {name} not found.")


def _invalid(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class RedshiftServerlessBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.namespaces: dict[str, dict] = {}
        self.workgroups: dict[str, dict] = {}
        self.usage_limits: dict[str, dict] = {}
        self.tags: dict[str, dict[str, str]] = {}

    @property
    def _url_module(self):  # moto reads url_bases/url_paths from a urls module; there is none to import
        return types.SimpleNamespace(url_bases=[URL_BASE], url_paths={"{0}/$": RedshiftServerlessResponse.dispatch})

    def _arn(self, kind: str, resource_id: str) -> str:
        return f"arn:{self.partition}:{SERVICE}:{self.region_name}:{self.account_id}:{kind}/{resource_id}"

    def _secrets(self):
        from moto.secretsmanager.models import secretsmanager_backends

        return secretsmanager_backends[self.account_id][self.region_name]

    # -- namespaces ---------------------------------------------------------------------------
    def create_namespace(self, p: dict) -> dict:
        name = p["namespaceName"]
        if name in self.namespaces:
            raise ServiceError("ConflictException", f"Namespace {name} already exists.")
        if p.get("manageAdminPassword") and p.get("adminUserPassword"):
            raise _invalid("You can't use adminUserPassword if manageAdminPassword is true.")
        if p.get("adminPasswordSecretKmsKeyId") and not p.get("manageAdminPassword"):
            raise _invalid("adminPasswordSecretKmsKeyId can only be used if manageAdminPassword is true.")
        namespace_id = str(uuid.uuid4())
        ns = {"namespaceName": name, "namespaceId": namespace_id, "namespaceArn": self._arn("namespace", namespace_id),
              "adminUsername": p.get("adminUsername", "admin"), "dbName": p.get("dbName", "dev"),
              "kmsKeyId": p.get("kmsKeyId", "AWS_OWNED_KMS_KEY"), "logExports": p.get("logExports", []),
              "iamRoles": [], "status": "AVAILABLE", "creationDate": _now()}
        self._set_roles(ns, p)
        if p.get("manageAdminPassword"):
            self._manage_password(ns, p.get("adminPasswordSecretKmsKeyId"))
        self.namespaces[name] = ns
        self._tag(ns["namespaceArn"], p.get("tags", []))
        return ns

    def _set_roles(self, ns: dict, p: dict) -> None:
        roles = p.get("iamRoles", [_role_arn(r) for r in ns["iamRoles"]])
        default = p.get("defaultIamRoleArn", ns.get("defaultIamRoleArn"))
        if default and default not in roles:
            raise _invalid("The default IAM role must be one of the namespace's IAM roles.")
        ns["iamRoles"] = [f"IamRole(applyStatus=in-sync, iamRoleArn={r})" for r in roles]
        if default:
            ns["defaultIamRoleArn"] = default
        else:
            ns.pop("defaultIamRoleArn", None)

    def _manage_password(self, ns: dict, kms_key_id: str | None) -> None:
        name = f"redshift!{ns['namespaceName']}-{ns['adminUsername']}"
        secret = json.loads(self._secrets().create_secret(
            name=name, secret_string=json.dumps({"username": ns["adminUsername"], "password": uuid.uuid4().hex}),
            secret_binary=None, description=f"Admin credentials of namespace {ns['namespaceName']}", tags=[],
            kms_key_id=kms_key_id, client_request_token=None, replica_regions=[], force_overwrite=False))
        ns["adminPasswordSecretArn"] = secret["ARN"]
        ns["adminPasswordSecretKmsKeyId"] = kms_key_id or "AWS_OWNED_KMS_KEY"

    def get_namespace(self, name: str) -> dict:
        if name not in self.namespaces:
            raise _not_found("Namespace", name)
        return self.namespaces[name]

    def update_namespace(self, p: dict) -> dict:
        ns = self.get_namespace(p["namespaceName"])
        for key in ("adminUsername", "kmsKeyId", "logExports"):
            if key in p:
                ns[key] = p[key]
        if "iamRoles" in p or "defaultIamRoleArn" in p:
            self._set_roles(ns, p)
        if p.get("manageAdminPassword") and "adminPasswordSecretArn" not in ns:
            self._manage_password(ns, p.get("adminPasswordSecretKmsKeyId"))
        return ns

    def delete_namespace(self, name: str) -> dict:
        ns = self.get_namespace(name)
        if any(w["namespaceName"] == name for w in self.workgroups.values()):
            raise ServiceError("ConflictException", f"Namespace {name} is used by a workgroup; delete the workgroup first.")
        if "adminPasswordSecretArn" in ns:
            self._secrets().delete_secret(ns["adminPasswordSecretArn"], None, True)
        del self.namespaces[name]
        self.tags.pop(ns["namespaceArn"], None)
        return {**ns, "status": "DELETING"}

    # -- workgroups ---------------------------------------------------------------------------
    def create_workgroup(self, p: dict) -> dict:
        name = p["workgroupName"]
        if name in self.workgroups:
            raise ServiceError("ConflictException", f"Workgroup {name} already exists.")
        self.get_namespace(p["namespaceName"])
        workgroup_id = str(uuid.uuid4())
        port = p.get("port", 5439)
        wg = {"workgroupName": name, "workgroupId": workgroup_id, "workgroupArn": self._arn("workgroup", workgroup_id),
              "namespaceName": p["namespaceName"], "baseCapacity": 128, "enhancedVpcRouting": False,
              "publiclyAccessible": False, "subnetIds": [], "securityGroupIds": [], "port": port,
              "configParameters": [{"parameterKey": k, "parameterValue": v} for k, v in DEFAULT_PARAMETERS.items()],
              "status": "AVAILABLE", "creationDate": _now(),
              "endpoint": {"address": f"{name}.{self.account_id}.{self.region_name}.redshift-serverless.amazonaws.com",
                           "port": port, "vpcEndpoints": []}}
        self._configure_workgroup(wg, p)
        self.workgroups[name] = wg
        self._tag(wg["workgroupArn"], p.get("tags", []))
        return wg

    def _configure_workgroup(self, wg: dict, p: dict) -> None:
        for key in ("baseCapacity", "maxCapacity"):
            if key in p and (p[key] % 8 or not 8 <= p[key] <= 5632):
                raise _invalid(f"{key} must be a multiple of 8 RPUs from 8 to 5632.")
        for key in ("baseCapacity", "maxCapacity", "enhancedVpcRouting", "publiclyAccessible", "subnetIds",
                    "securityGroupIds", "pricePerformanceTarget"):
            if key in p:
                wg[key] = p[key]
        if wg.get("maxCapacity") and wg["maxCapacity"] < wg["baseCapacity"]:
            raise _invalid("maxCapacity must be at least baseCapacity.")
        if "configParameters" in p:
            merged = {c["parameterKey"]: c["parameterValue"] for c in wg["configParameters"]}
            merged.update({c["parameterKey"]: c["parameterValue"] for c in p["configParameters"]})
            wg["configParameters"] = [{"parameterKey": k, "parameterValue": v} for k, v in merged.items()]

    def get_workgroup(self, name: str) -> dict:
        if name not in self.workgroups:
            raise _not_found("Workgroup", name)
        return self.workgroups[name]

    def update_workgroup(self, p: dict) -> dict:
        wg = self.get_workgroup(p["workgroupName"])
        self._configure_workgroup(wg, p)
        return wg

    def delete_workgroup(self, name: str) -> dict:
        wg = self.get_workgroup(name)
        del self.workgroups[name]
        self.tags.pop(wg["workgroupArn"], None)
        for limit_id in [i for i, u in self.usage_limits.items() if u["resourceArn"] == wg["workgroupArn"]]:
            del self.usage_limits[limit_id]
        return {**wg, "status": "DELETING"}

    # -- usage limits -------------------------------------------------------------------------
    def create_usage_limit(self, p: dict) -> dict:
        if not any(w["workgroupArn"] == p["resourceArn"] for w in self.workgroups.values()):
            raise _not_found("Resource", p["resourceArn"])
        if p.get("amount", 0) < 1:
            raise _invalid("amount must be a positive number.")
        limit_id = str(uuid.uuid4())
        limit = {"usageLimitId": limit_id, "usageLimitArn": self._arn("usagelimit", limit_id),
                 "resourceArn": p["resourceArn"], "usageType": p["usageType"], "amount": p["amount"],
                 "period": p.get("period", "monthly"), "breachAction": p.get("breachAction", "log")}
        self.usage_limits[limit_id] = limit
        return limit

    def get_usage_limit(self, limit_id: str) -> dict:
        if limit_id not in self.usage_limits:
            raise _not_found("Usage limit", limit_id)
        return self.usage_limits[limit_id]

    def update_usage_limit(self, p: dict) -> dict:
        limit = self.get_usage_limit(p["usageLimitId"])
        limit.update({k: p[k] for k in ("amount", "breachAction") if k in p})
        return limit

    def delete_usage_limit(self, limit_id: str) -> dict:
        return self.usage_limits.pop(self.get_usage_limit(limit_id)["usageLimitId"])

    # -- tags ---------------------------------------------------------------------------------
    def _tag(self, arn: str, tags: list[dict]) -> None:
        self.tags.setdefault(arn, {}).update({t["key"]: t["value"] for t in tags})

    def untag(self, arn: str, keys: list[str]) -> None:
        for key in keys:
            self.tags.get(arn, {}).pop(key, None)


def _role_arn(entry: str) -> str:
    return entry.split("iamRoleArn=", 1)[1].rstrip(")").strip()


class RedshiftServerlessResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name=SERVICE)

    @property
    def backend(self) -> RedshiftServerlessBackend:
        return redshiftserverless_backends[self.current_account][self.region]

    def _params(self) -> dict:
        return json.loads(self.body or "{}")

    def create_namespace(self) -> str:
        return json.dumps({"namespace": self.backend.create_namespace(self._params())})

    def get_namespace(self) -> str:
        return json.dumps({"namespace": self.backend.get_namespace(self._params()["namespaceName"])})

    def update_namespace(self) -> str:
        return json.dumps({"namespace": self.backend.update_namespace(self._params())})

    def delete_namespace(self) -> str:
        return json.dumps({"namespace": self.backend.delete_namespace(self._params()["namespaceName"])})

    def list_namespaces(self) -> str:
        return json.dumps({"namespaces": list(self.backend.namespaces.values())})

    def create_workgroup(self) -> str:
        return json.dumps({"workgroup": self.backend.create_workgroup(self._params())})

    def get_workgroup(self) -> str:
        return json.dumps({"workgroup": self.backend.get_workgroup(self._params()["workgroupName"])})

    def update_workgroup(self) -> str:
        return json.dumps({"workgroup": self.backend.update_workgroup(self._params())})

    def delete_workgroup(self) -> str:
        return json.dumps({"workgroup": self.backend.delete_workgroup(self._params()["workgroupName"])})

    def list_workgroups(self) -> str:
        return json.dumps({"workgroups": list(self.backend.workgroups.values())})

    def create_usage_limit(self) -> str:
        return json.dumps({"usageLimit": self.backend.create_usage_limit(self._params())})

    def get_usage_limit(self) -> str:
        return json.dumps({"usageLimit": self.backend.get_usage_limit(self._params()["usageLimitId"])})

    def update_usage_limit(self) -> str:
        return json.dumps({"usageLimit": self.backend.update_usage_limit(self._params())})

    def delete_usage_limit(self) -> str:
        return json.dumps({"usageLimit": self.backend.delete_usage_limit(self._params()["usageLimitId"])})

    def list_usage_limits(self) -> str:
        arn = self._params().get("resourceArn")
        limits = [u for u in self.backend.usage_limits.values() if arn in (None, u["resourceArn"])]
        return json.dumps({"usageLimits": limits})

    def tag_resource(self) -> str:
        p = self._params()
        self.backend._tag(p["resourceArn"], p.get("tags", []))
        return "{}"

    def untag_resource(self) -> str:
        p = self._params()
        self.backend.untag(p["resourceArn"], p.get("tagKeys", []))
        return "{}"

    def list_tags_for_resource(self) -> str:
        tags = self.backend.tags.get(self._params()["resourceArn"], {})
        return json.dumps({"tags": [{"key": k, "value": v} for k, v in tags.items()]})


redshiftserverless_backends = BackendDict(RedshiftServerlessBackend, SERVICE)


def install() -> None:
    """Register the backend with moto's server under the `redshift-serverless` signing name (idempotent)."""
    from moto import backend_index

    if "moto.redshiftserverless" in sys.modules:
        return
    module = types.ModuleType("moto.redshiftserverless")
    module.redshiftserverless_backends = redshiftserverless_backends
    sys.modules["moto.redshiftserverless"] = module
    backend_index.backend_url_patterns.append(("redshiftserverless", re.compile(URL_BASE)))
