"""The run report: one self-contained HTML page (inline SVG charts, no scripts) per pipeline run.

It answers the questions asked after every nightly run: did the data arrive at every layer (rows per layer
and table), where did the time go (duration per task), did dbt's data tests pass (the failing ones named), how
fresh is Silver (dbt's source freshness) and what did the run cost (the estimate with its inputs).
Target-agnostic: it renders whatever numbers it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

_COLORS = {"bronze": "#b07a3b", "silver": "#8c96a3", "gold": "#c9a227", "task": "#3b6fb0"}


def bar_chart(title: str, bars: Sequence[tuple[str, float, str]], unit: str = "") -> str:
    """A horizontal bar chart as inline SVG; `bars` are (label, value, colour)."""
    width, label_w, row_h = 720, 260, 24
    top = 30
    height = top + row_h * max(1, len(bars)) + 10
    peak = max((v for _, v, _ in bars), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}">',
             f'<text x="0" y="18" font-weight="bold" font-size="14">{escape(title)}</text>']
    for i, (label, value, color) in enumerate(bars):
        y = top + i * row_h
        w = (width - label_w - 90) * value / peak
        shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
        parts += [
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="12">{escape(label)}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{color}"><title>{escape(label)}: '
            f'{shown}{unit}</title></rect>',
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12">{shown}{escape(unit)}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def tests_section(tests: dict[str, Any] | None) -> str:
    if not tests or not tests.get("total"):
        return "<p>No dbt test results.</p>"
    failed = "".join(f"<li><code>{escape(n)}</code></li>" for n in tests.get("failed", []))
    warned = "".join(f"<li><code>{escape(n)}</code></li>" for n in tests.get("warned", []))
    return (f'<p id="tests">{tests["passed"]} of {tests["total"]} passed.</p>'
            + (f"<p>Failed:</p><ul class=\"failed\">{failed}</ul>" if failed else "")
            + (f"<p>Warned:</p><ul>{warned}</ul>" if warned else ""))


def freshness_section(freshness: dict[str, dict[str, Any]] | None) -> str:
    if not freshness:
        return "<p>No source freshness results.</p>"
    rows = "".join(f"<tr><td>{escape(t)}</td><td>{f['lag_seconds']:,.0f} s</td><td>{escape(str(f.get('max_loaded_at')))}</td>"
                   f"<td>{escape(str(f.get('status')))}</td></tr>" for t, f in sorted(freshness.items()))
    return ('<table id="freshness"><tr><th>Silver table</th><th>lag</th><th>newest row loaded at</th><th>dbt says</th></tr>'
            f"{rows}</table>")


def cost_section(cost: dict[str, Any] | None) -> str:
    if not cost:
        return "<p>No cost estimate.</p>"
    rows = "".join(f"<tr><td>{escape(name)}</td><td>{line['uses']}</td><td>{line['billed']:,.3f} {escape(line['unit'])}</td>"
                   f"<td>${line['usd']:.6f}</td></tr>" for name, line in cost["lines"].items())
    return (f'<p id="cost"><b>${cost["total_usd"]:.4f}</b>: {escape(cost["basis"])}, {escape(cost["region"])} on-demand '
            f'prices as of {escape(cost["prices_as_of"])} (edp/pricing.py).</p>'
            f"<table><tr><th>input</th><th>uses</th><th>billed</th><th>USD</th></tr>{rows}</table>")


def render(run_id: str, target: str, layers: dict[str, dict[str, int]], durations: dict[str, float],
           links: dict[str, str], details: dict, tests: dict[str, Any] | None = None,
           freshness: dict[str, dict[str, Any]] | None = None, cost: dict[str, Any] | None = None,
           status: str = "success") -> str:
    layer_bars = [(f"{layer} · {table}", rows, _COLORS.get(layer, "#666"))
                  for layer, tables in layers.items() for table, rows in tables.items()]
    totals = {layer: sum(tables.values()) for layer, tables in layers.items()}
    total_rows = "".join(f"<tr><td>{escape(k)}</td><td>{v:,}</td></tr>" for k, v in totals.items())
    task_bars = [(task, seconds, _COLORS["task"]) for task, seconds in durations.items()]
    link_items = "".join(f'<li><a href="{escape(href)}">{escape(name)}</a></li>' for name, href in links.items())
    detail_rows = "".join(f"<tr><td>{escape(k)}</td><td><code>{escape(str(v))}</code></td></tr>" for k, v in details.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>EDP run {escape(run_id)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}}table{{border-collapse:collapse}}
td{{border-bottom:1px solid #ddd;padding:.2rem .8rem}}code{{font-size:.85em}}</style></head>
<body>
<h1>EDP pipeline run</h1>
<p>Run <code>{escape(run_id)}</code> on target <b>{escape(target)}</b>: <b id="status">{escape(status)}</b>.</p>
<h2>Rows per layer</h2>
<table>{total_rows}</table>
{bar_chart("Rows per layer and table", layer_bars)}
<h2>Task durations</h2>
{bar_chart("Task duration", task_bars, " s")}
<h2>dbt tests</h2>
{tests_section(tests)}
<h2>Source freshness</h2>
{freshness_section(freshness)}
<h2>Cost</h2>
{cost_section(cost)}
<h2>Artifacts</h2><ul>{link_items}</ul>
<h2>Details</h2><table>{detail_rows}</table>
</body></html>
"""


def durations(upstream_metrics: dict) -> dict[str, float]:
    """Seconds per task; a mapped task's instances are listed one per table."""
    out: dict[str, float] = {}
    for task_id, metrics in upstream_metrics.items():
        items = metrics if isinstance(metrics, list) else [metrics]
        for m in items:
            if isinstance(m, dict) and "seconds" in m:
                label = f"{task_id}[{m['table']}]" if "table" in m else task_id
                out[label] = float(m["seconds"])
    return out
