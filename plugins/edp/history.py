"""The run history: one self-contained HTML page with a row per run, newest first, and a trend chart.

Nightly questions it answers at a glance: did the run succeed, is it slower or smaller than last week's, which
data tests fail and since when, how stale is Silver, what did it cost. Each row comes from one run's
metrics.json (the shape both targets publish) and links to that run's report. Target-agnostic: the caller
lists the runs (a folder locally, `runs/` in the artifacts bucket on AWS) and says where a run's report is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from html import escape
from typing import Any

TREND_RUNS = 30  # the trend chart's window: the last N runs

log = logging.getLogger(__name__)


class BadMetrics(ValueError):
    """A run's metrics.json that is not the JSON object a run publishes."""


def load(text: str | bytes, where: str) -> dict[str, Any]:
    """One run's metrics, or BadMetrics naming where it came from."""
    try:
        metrics = json.loads(text)
    except ValueError as exc:
        raise BadMetrics(f"{where}: not JSON ({exc})") from None
    if not isinstance(metrics, dict) or "run_id" not in metrics:
        raise BadMetrics(f"{where}: not a run's metrics (no run_id)")
    return metrics


def load_all(found: Iterable[tuple[str, Callable[[], str | bytes]]]) -> list[dict[str, Any]]:
    """Every readable run's metrics from `(where, read)` pairs; an unreadable one is named in the log and left
    where it is (the page is rebuilt from the stored files on every publish, so nothing stored is lost)."""
    runs = []
    for where, read in found:
        try:
            runs.append(load(read(), where))
        except BadMetrics as exc:
            log.warning("run history: %s is left out", exc)
    return runs


def ordered(runs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Newest first, by when the run started (a run without a start time sorts last)."""
    return sorted(runs, key=lambda m: str(m.get("started_at") or ""), reverse=True)


def layer_total(metrics: dict[str, Any], layer: str) -> int | None:
    tables = (metrics.get("layers") or {}).get(layer)
    return sum(tables.values()) if tables else None


def _duration(seconds: Any) -> str:
    if seconds is None:
        return "–"
    seconds = float(seconds)
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s" if seconds >= 60 else f"{seconds:.0f} s"


def _lag(seconds: Any) -> str:
    if seconds is None:
        return "–"
    seconds = float(seconds)
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _tests_cell(tests: dict[str, Any] | None) -> str:
    if not tests or not tests.get("total"):
        return "–"
    failed = tests.get("failed") or []
    cell = f"{tests['passed']}/{tests['total']} passed"
    if failed:
        cell += "<br><b>failed:</b> " + ", ".join(f"<code>{escape(n)}</code>" for n in failed)
    if tests.get("warned"):
        cell += "<br>warned: " + ", ".join(f"<code>{escape(n)}</code>" for n in tests["warned"])
    return cell


def _cost_cell(cost: dict[str, Any] | None) -> str:
    if not cost:
        return "–"
    return f'<span title="{escape(cost.get("basis", ""))}">${cost["total_usd"]:.4f}</span>'


def trend_chart(runs: list[dict[str, Any]], last: int = TREND_RUNS) -> str:
    """Duration and Silver rows of the last runs, oldest left, each line scaled to its own peak (inline SVG)."""
    window = list(reversed(runs[:last]))
    width, height, pad = 720, 160, 30
    series = {"duration (s)": ("#3b6fb0", [r.get("duration_seconds") for r in window]),
              "Silver rows": ("#8c96a3", [layer_total(r, "silver") for r in window])}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Trend of the last {len(window)} runs" '
             f'width="{width}" height="{height + 20}" viewBox="0 0 {width} {height + 20}">']
    step = (width - 2 * pad) / max(1, len(window) - 1)
    for i, (name, (color, values)) in enumerate(series.items()):
        parts.append(f'<text x="{pad + i * 180}" y="14" font-size="12" fill="{color}">■ {escape(name)}</text>')
        peak = max((float(v) for v in values if v is not None), default=0) or 1
        points = [(pad + j * step, height - (height - 2 * pad) * float(v) / peak)
                  for j, v in enumerate(values) if v is not None]
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>')
            parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{escape(name)}: {v}</title></circle>'
                      for (x, y), v in zip(points, [v for v in values if v is not None], strict=True)]
    parts.append(f'<text x="{pad}" y="{height + 14}" font-size="11">oldest</text>'
                 f'<text x="{width - pad}" y="{height + 14}" font-size="11" text-anchor="end">newest</text></svg>')
    return "".join(parts)


def render(runs: Iterable[dict[str, Any]], report_href: Callable[[dict[str, Any]], str], title: str = "EDP run history",
           last: int = TREND_RUNS) -> str:
    """The history page: `runs` are metrics dicts, `report_href` gives a run's report link relative to the page."""
    runs = ordered(runs)
    rows = []
    for m in runs:
        status = str(m.get("status") or "unknown")
        failed_task = f"<br>at <code>{escape(str(m['failed_task']))}</code>" if m.get("failed_task") else ""
        layers = " · ".join(f"{layer} {total:,}" for layer in ("bronze", "silver", "gold")
                            if (total := layer_total(m, layer)) is not None) or "–"
        rows.append(
            f'<tr class="run {escape(status)}"><td>{escape(str(m.get("started_at") or "–")[:19].replace("T", " "))}</td>'
            f'<td><a href="{escape(report_href(m))}">{escape(str(m["run_id"]))}</a></td>'
            f'<td class="status">{escape(status)}{failed_task}</td><td>{_duration(m.get("duration_seconds"))}</td>'
            f"<td>{layers}</td><td>{_tests_cell(m.get('tests'))}</td>"
            f"<td>{_lag(m.get('silver_lag_seconds'))}</td><td>{_cost_cell(m.get('cost'))}</td></tr>")
    basis = next((m["cost"]["basis"] for m in runs if m.get("cost")), "")
    priced = next((f"{m['cost']['region']} prices as of {m['cost']['prices_as_of']}" for m in runs if m.get("cost")), "")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse}}
td,th{{border-bottom:1px solid #ddd;padding:.3rem .7rem;text-align:left;vertical-align:top}}
tr.failed td.status{{color:#b00020;font-weight:bold}}tr.success td.status{{color:#1b7a1b}}code{{font-size:.85em}}</style>
</head><body>
<h1>{escape(title)}</h1>
<p>{len(runs)} run(s), newest first. Cost: {escape(basis) or "–"}{f" ({escape(priced)})" if priced else ""}.</p>
<h2>Trend</h2>
{trend_chart(runs, last)}
<h2>Runs</h2>
<table id="runs"><thead><tr><th>started (UTC)</th><th>run</th><th>status</th><th>duration</th><th>rows per layer</th>
<th>dbt tests</th><th>Silver freshness lag</th><th>cost (USD)</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
</body></html>
"""
