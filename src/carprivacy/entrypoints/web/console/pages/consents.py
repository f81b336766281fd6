"""Consent statistics per topic (SPEC C4): given and withdrawn per channel, over the chosen
period (days, default 90) and per day, as charts with their tables. Read as counts from the
ledger (``Services.consent_statistics``): no person, no subject id, no choice of anyone."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from carprivacy.domain.consent_ledger import EntryKind
from carprivacy.entrypoints.web.console.charts import bar_chart, days_between
from carprivacy.entrypoints.web.console.context import (
    Officer,
    language,
    render,
    services_of,
    signed_in,
)
from carprivacy.entrypoints.web.console.messages import message
from carprivacy.services.oversight.consent_statistics import TopicStatistics

router = APIRouter()
KINDS = ((EntryKind.CONSENT_GIVEN, "given"), (EntryKind.CONSENT_WITHDRAWN, "withdrawn"))


@router.get("/consents")
async def consents_page(
    request: Request,
    officer: Officer = Depends(signed_in),
    days: int = Query(90, ge=1, le=3660, description="The period: the last this many days."),
) -> Response:
    services = services_of(request)
    lang = language(request)
    now = services.retention.clock()
    since = now - timedelta(days=days)
    stats = await run_in_threadpool(services.consent_statistics.per_topic, since)
    topics = services.policy.consent_topics_by_id
    name = {t: (topics[t].name.get(lang) if t in topics else t) for t in (s.topic for s in stats)}
    overview = bar_chart(
        message("consents_overview", lang),
        [name[s.topic] for s in stats],
        {
            message("given", lang): [s.given for s in stats],
            message("withdrawn", lang): [s.withdrawn for s in stats],
        },
        stacked=False,
        horizontal=True,
    )
    charts = {s.topic: _topic_chart(s, name[s.topic], lang) for s in stats if s.by_day}
    return render(
        request,
        "consents.html",
        stats=stats,
        names=name,
        overview=overview,
        charts=charts,
        kinds=KINDS,
        days=days,
        since=since,
    )


def _topic_chart(s: TopicStatistics, title: str, lang: str) -> str:
    """Per day of the topic's first to last entry: one bar per (kind, channel)."""
    seen = [d for points in s.by_day.values() for d, _ in points]
    axis = days_between(min(seen), max(seen))
    series = {}
    for (kind, channel), points in s.by_day.items():
        per_day = dict(points)
        label = f"{message(dict(KINDS)[kind], lang)} · {message('channel_' + channel, lang)}"
        series[label] = [per_day.get(d, 0) for d in axis]
    return bar_chart(title, [d.strftime("%d-%m") for d in axis], series, stacked=True)
