"""The Airflow plugin that shows EDP's pages (run history, run reports, dbt docs) in the Airflow UI: see
`edp.ui`. It sits beside the `edp` package because Airflow's plugin loader reads this folder's top-level
modules only (`.airflowignore` keeps it out of `edp/`); `edp mwaa package` puts it in plugins.zip too."""

from edp.ui import EdpUiPlugin

__all__ = ["EdpUiPlugin"]
