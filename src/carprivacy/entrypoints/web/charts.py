"""Charts as SVG drawn on the server (pygal): they need no script and no other origin. pygal's
inline configuration script and comments are left out (the pages run no script at all); every
chart has a title and a table of its values beside it on the page."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime

import pygal
from pygal.style import Style

# pygal appends a legacy import hook (find_module only, for its map plugins, which the portal
# does not use) to sys.meta_path; every later failed import then warns (ImportWarning). Take it
# out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

SCRIPT = re.compile(r"<script\b.*?</script>|<!--.*?-->", re.DOTALL)
STYLE = Style(
    background="transparent",
    plot_background="#ffffff",
    foreground="#1d2a3a",
    foreground_strong="#1d2a3a",
    foreground_subtle="#c9d2dc",
    colors=("#0b6e99", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0f766e", "#a16207"),
    font_family="system-ui, sans-serif",
    title_font_size=16,
    label_font_size=12,
    major_label_font_size=12,
)
OPTIONS = {
    "js": [],
    "style": STYLE,
    "disable_xml_declaration": True,
    "width": 760,
    "height": 300,
    "margin": 12,
    "show_dots": False,
    "stroke_style": {"width": 2},
}


def _svg(chart: pygal.graph.graph.Graph, title: str) -> str:
    chart.title = title
    svg: str = chart.render(is_unicode=True)
    svg = SCRIPT.sub("", svg)
    # an image with its name for assistive technology; the table beside it holds the values
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(title)}" ', 1)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def time_chart(
    title: str,
    series: Mapping[str, Sequence[tuple[datetime, float]]],
    unit: str,
    secondary: Mapping[str, Sequence[tuple[datetime, float]]] | None = None,
) -> str:
    """One line per series over time; ``secondary`` on the right-hand axis (another unit)."""
    chart = pygal.DateTimeLine(
        **OPTIONS,
        show_legend=len(series) + len(secondary or {}) > 1,
        legend_at_bottom=True,
        x_label_rotation=0,
        x_value_formatter=lambda d: d.strftime("%d-%m %H:%M"),
        value_formatter=lambda v: f"{v:,.1f} {unit}".replace(",", " ").strip(),
        truncate_label=-1,
        show_minor_x_labels=False,
        x_labels_major_count=7,
    )
    for name, points in series.items():
        chart.add(name, list(points))
    for name, points in (secondary or {}).items():
        chart.add(name, list(points), secondary=True)
    return _svg(chart, title)


def map_chart(title: str, trips: Mapping[str, Sequence[tuple[float, float]]]) -> str:
    """Positions (longitude, latitude) as dots, one colour per day."""
    chart = pygal.XY(
        **{**OPTIONS, "show_dots": True, "dots_size": 2.5, "height": 420},
        stroke=False,
        show_legend=True,
        legend_at_bottom=True,
        x_title="lon",
        y_title="lat",
        value_formatter=lambda v: f"{v:.4f}",
    )
    for name, points in trips.items():
        chart.add(name, list(points))
    return _svg(chart, title)
