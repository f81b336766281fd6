"""The console's charts, SVG drawn on the server by pygal as the portal's are (no script, no
other origin): consent counts per topic and channel, and the requests' deadlines as a timeline.
Every chart has a title and a table of its values beside it on the page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

import pygal

from carprivacy.entrypoints.web.charts import OPTIONS, SCRIPT, STYLE
from carprivacy.services.oversight.requests import RequestLine

# on time, nearly due, overdue, closed, extension, now
TIMELINE_COLOURS = ("#15803d", "#a16207", "#b91c1c", "#94a3b8", "#7c3aed", "#1d2a3a")


def svg(chart: pygal.graph.graph.Graph, title: str) -> str:
    chart.title = title
    out: str = SCRIPT.sub("", chart.render(is_unicode=True))
    label = title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return out.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)


def bar_chart(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[int]], *, stacked: bool
) -> str:
    """Counts per label, one bar (or stacked part) per series."""
    kind = pygal.StackedBar if stacked else pygal.Bar
    chart = kind(
        **{**OPTIONS, "show_dots": True},
        show_legend=len(series) > 1,
        legend_at_bottom=True,
        x_label_rotation=0 if len(labels) <= 8 else 30,
        truncate_label=-1,
        value_formatter=lambda v: f"{v:.0f}",
        min_scale=1,
        max_scale=6,
        print_zeroes=False,
    )
    chart.x_labels = list(labels)
    for name, values in series.items():
        chart.add(name, list(values))
    return svg(chart, title)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def timeline_chart(
    title: str, lines: Sequence[RequestLine], now: datetime, names: Sequence[str]
) -> str:
    """Each request a bar from its receipt to its due date (coloured by its standing; a closed one
    grey) and on to its extended due date (violet); a vertical line at ``now``. ``names``: the
    legend's six labels in ``TIMELINE_COLOURS`` order."""
    style = STYLE.__class__(**{**STYLE.to_dict(), "colors": TIMELINE_COLOURS})
    chart = pygal.DateTimeLine(
        **{
            **OPTIONS,
            "style": style,
            "height": max(220, 70 + 28 * len(lines)),
            "stroke_style": {"width": 12, "linecap": "butt"},
        },
        allow_interruptions=True,
        show_legend=True,
        legend_at_bottom=True,
        x_label_rotation=0,
        x_value_formatter=lambda d: d.strftime("%d-%m-%Y"),
        show_minor_x_labels=False,
        x_labels_major_count=6,
        truncate_label=-1,
        range=(-1, max(len(lines), 1)),
        inverse_y_axis=True,
        show_y_guides=False,
    )
    chart.y_labels = [
        {"label": f"{x.kind.value} {x.id[:8]}", "value": i} for i, x in enumerate(lines)
    ]
    groups: dict[str, list[tuple[datetime, float] | None]] = {k: [] for k in names[:5]}
    on_time, nearly, overdue, closed, extension = names[:5]
    for i, x in enumerate(lines):
        name = {"on_time": on_time, "nearly_due": nearly, "overdue": overdue}.get(
            x.standing.value if x.standing else "", closed
        )
        first_due = x.original_due_by
        groups[name] += [(x.received_at, i), (first_due, i), None]
        if x.extended:
            groups[extension] += [(first_due, i), (x.due_by, i), None]
    for name, points in groups.items():
        chart.add(name, points[:-1] if points else [])
    chart.add(names[5], [(now, -1), (now, max(len(lines), 1))], stroke_style={"width": 2})
    return svg(chart, title)
