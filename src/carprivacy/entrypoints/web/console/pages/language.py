"""The language switch (Dutch by default, English), kept in a cookie of its own; it returns to
the console page it was chosen on."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from carprivacy.entrypoints.web.console.context import (
    LANGUAGE_COOKIE,
    PREFIX,
    redirect,
    secure_cookies,
)
from carprivacy.entrypoints.web.console.messages import LANGUAGES

router = APIRouter()
YEAR = 365 * 24 * 3600


@router.get("/language")
def choose_language(
    request: Request,
    lang: str = Query("nl", pattern="^(nl|en)$"),
    back: str = Query(f"{PREFIX}/", max_length=200),
) -> Response:
    # only a path of the console: never an address elsewhere (no open redirect)
    target = back if back.startswith(f"{PREFIX}/") and "//" not in back else f"{PREFIX}/"
    answer = redirect(target)
    if lang in LANGUAGES:
        answer.set_cookie(
            LANGUAGE_COOKIE,
            lang,
            max_age=YEAR,
            path=PREFIX,
            samesite="lax",
            secure=secure_cookies(request),
            httponly=True,
        )
    return answer
