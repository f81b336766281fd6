"""The console's charts, SVG drawn on the server by pygal as the portal's are (no script, no
other origin): consent counts per topic and channel, and the requests' deadlines as a timeline.
Every chart has a title and a table of its values beside it on the page."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta

import pygal

from carprivacy.entrypoints.web.charts import OPTIONS, SCRIPT, STYLE
from carprivacy.services.oversight.requests import RequestLine

CHART_ID = re.compile(r'id="(chart-[0-9a-f-]+)"')
# on time, nearly due, overdue, closed, extension, now
TIMELINE_COLOURS = ("#15803d", "#a16207", "#b91c1c", "#94a3b8", "#7c3aed", "#1d2a3a")


def svg(chart: pygal.graph.graph.Graph, title: str) -> str:
    chart.title = title
    out: str = SCRIPT.sub("", chart.render(is_unicode=True))
    label = title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return out.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[int]],
    *,
    stacked: bool,
    legend: bool = True,
    horizontal: bool = False,
) -> str:
    """Counts per label, one bar (or stacked part) per series; whole numbers on the axis;
    ``horizontal``: the labels down the side (long names), a bar per label across."""
    kind = pygal.HorizontalBar if horizontal else (pygal.StackedBar if stacked else pygal.Bar)
    totals = [sum(v) for v in zip(*series.values(), strict=True)] if stacked else []
    top = max([*totals, *(n for v in series.values() for n in v), 1])
    step = max(1, -(-top // 6))
    chart = kind(
        **{
            **OPTIONS,
            "show_dots": True,
            "height": max(OPTIONS["height"], 60 + 34 * len(labels)) if horizontal else 300,
        },
        show_legend=legend,
        legend_at_bottom=True,
        x_label_rotation=0 if horizontal or len(labels) <= 4 else 25,
        truncate_label=-1,
        value_formatter=lambda v: f"{v:.0f}",
        print_zeroes=False,
        range=(0, top + (step if top % step else 0)),
        x_labels_major_every=max(1, len(labels) // 8),
        show_minor_x_labels=len(labels) <= 16,
    )
    order = slice(None, None, -1) if horizontal else slice(None)  # the first label on top
    chart.x_labels = list(labels)[order]
    chart.y_labels = list(range(0, top + step, step))
    for name, values in series.items():
        chart.add(name, list(values)[order])
    return svg(chart, title)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def timeline_chart(
    title: str,
    lines: Sequence[RequestLine],
    now: datetime,
    names: Sequence[str],
    kind_name: Callable[[str], str] = str,
) -> str:
    """Each request a bar from its receipt to its due date (coloured by its standing; a closed one
    grey) and on to its extended due date (violet); a vertical line at ``now``. ``names``: the
    legend's six labels in ``TIMELINE_COLOURS`` order; ``kind_name``: a request kind as shown."""
    style = STYLE.__class__(**{**STYLE.to_dict(), "colors": TIMELINE_COLOURS})
    chart = pygal.DateTimeLine(
        **{
            **OPTIONS,
            "style": style,
            "height": max(260, 120 + 30 * len(lines)),
        },
        allow_interruptions=True,
        show_legend=True,
        legend_at_bottom=True,
        x_label_rotation=0,
        x_value_formatter=lambda d: d.strftime("%d-%m-%y"),
        show_minor_x_labels=False,
        x_labels_major_count=5,
        truncate_label=-1,
        range=(-1, max(len(lines), 1)),
        inverse_y_axis=True,
        show_y_guides=False,
    )
    chart.y_labels = [
        {"label": f"{kind_name(x.kind.value)} {x.id[:8]}", "value": i} for i, x in enumerate(lines)
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
    chart.add(names[5], [(now, -1), (now, max(len(lines), 1))])
    return _bars(svg(chart, title), len(groups))


def _bars(out: str, series: int) -> str:
    """The first ``series`` lines drawn as thick bars: pygal's own rule for a line's width is
    more specific than its ``stroke_style``, so one more rule in the chart's style sheet."""
    found = CHART_ID.search(out)
    if found is None:
        return out
    rules = "".join(
        f"#{found.group(1)} .serie-{i} .line{{stroke-width:14px;stroke-linecap:butt}}"
        for i in range(series)
    )
    return out.replace("</style>", rules + "</style>", 1)
