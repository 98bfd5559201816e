"""The platform's pages inside the Airflow UI: the run history, each run's report and the dbt docs.

An Airflow 3 plugin: a FastAPI app mounted on the api-server under `/edp` serves the published files (the
artifacts folder locally, the artifacts bucket on AWS, through the same keys: `runs/index.html`,
`runs/<run>/report.html`...), and external views put them in the UI: "Run history" and "dbt docs" in the
Browse menu, "Run report" as a tab of every pipeline run. Every request needs a signed-in user allowed to
read the pipeline's runs (Airflow's own token, sent by the UI as its cookie); a key outside `runs/` or with
`..` is refused.

    /edp/runs/index.html           the run history
    /edp/runs/<run>/<file>         a run's report, metrics, dbt files and docs
    /edp/run/<dag id>/<run id>     a run's report, from the run's ids (the run view's tab)
    /edp/docs                      the newest run's dbt docs
"""

from __future__ import annotations

import importlib
import mimetypes
import re
from typing import Any, Protocol

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import RedirectResponse, Response

from edp.runtime import run_folder

PREFIX = "/edp"
HISTORY = "runs/index.html"
# target -> "module:function" returning its ArtifactStore (the local one lives in edp_dev)
STORES = {"local": "edp_dev.local.publish:artifact_store", "aws": "edp.aws.publish:artifact_store"}
_SAFE_KEY = re.compile(r"runs/(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]+")


class ArtifactStore(Protocol):
    """Where a target's published files are, by their key under the artifacts root."""

    def get(self, key: str) -> bytes | None: ...

    def latest_folder(self) -> str | None: ...

    def docs_key(self, folder: str) -> str: ...


def safe_key(key: str) -> str:
    """The key if it names a file under runs/ without climbing out; else 404 (never a path outside)."""
    if not _SAFE_KEY.fullmatch(key) or any(part in ("", ".", "..") for part in key.split("/")):
        raise HTTPException(status_code=404, detail="no such page")
    return key


def store() -> ArtifactStore:
    from edp.settings import resolve_target

    module, _, name = STORES[resolve_target()].partition(":")
    return getattr(importlib.import_module(module), name)()


def _page(key: str) -> Response:
    body = store().get(safe_key(key))
    if body is None:
        raise HTTPException(status_code=404, detail=f"{key} is not published (yet): has a run published it?")
    media = mimetypes.guess_type(key)[0] or "application/octet-stream"
    return Response(body, media_type=media, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def _can_read_runs() -> Any:
    """Airflow's check: a signed-in user who may read the pipeline's runs."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return Depends(requires_access_dag(method="GET", access_entity=DagAccessEntity.RUN))


def create_app() -> FastAPI:
    # no Swagger UI or schema: /docs is dbt's docs here, and the pages are not an API to browse
    app = FastAPI(title="EDP pages", dependencies=[_can_read_runs()], docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/")
    def index() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/{HISTORY}")

    @app.get("/runs/{key:path}")
    def runs(key: str) -> Response:
        return _page(f"runs/{key}")

    @app.get("/run/{dag_id}/{run_id}")
    def run_report(dag_id: str, run_id: str) -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/runs/{run_folder(run_id)}/report.html")

    @app.get("/docs")
    def docs() -> RedirectResponse:
        target = store()
        folder = target.latest_folder()
        if folder is None:
            raise HTTPException(status_code=404, detail="no run has published dbt docs yet")
        return RedirectResponse(f"{PREFIX}/{safe_key(target.docs_key(folder))}")

    return app


class EdpUiPlugin(AirflowPlugin):
    name = "edp"
    fastapi_apps = [{"app": create_app(), "url_prefix": PREFIX, "name": "EDP pages"}]
    external_views = [
        {"name": "Run history", "href": f"{PREFIX}/{HISTORY}", "destination": "nav", "category": "browse",
         "url_route": "edp-run-history"},
        {"name": "dbt docs", "href": f"{PREFIX}/docs", "destination": "nav", "category": "browse",
         "url_route": "edp-dbt-docs"},
        {"name": "Run report", "href": f"{PREFIX}/run/{{DAG_ID}}/{{RUN_ID}}", "destination": "dag_run",
         "url_route": "edp-run-report"},
    ]
