"""The scoreboard page: the exchange service's indicators as SVG charts, filterable."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.gateway.web.charts import Series, bar_chart, data_table
from services.gateway.web.core import N_, WebCallerDep, call, problem_message, render

router = APIRouter()

COUNTRY = re.compile(r"^[a-z]{2}$")
# Indicator key, its label (translated in the template) and its unit.
INDICATORS = (
    ("requests_sent", N_("Requests sent"), ""),
    ("accepted_within_deadline_share", N_("Share accepted within the deadline"), "%"),
    ("average_reply_days", N_("Average reply time (days)"), ""),
    ("answered_by_agreed_date_share", N_("Share answered by the agreed date"), "%"),
    ("negative_rating_share", N_("Share of negative ratings"), "%"),
)


def filters(
    country: str, area: str, period_from: str, period_to: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The upstream query from the form's values, and an error message per invalid field."""
    params: dict[str, str] = {}
    errors: dict[str, str] = {}
    country = country.strip().lower()
    if country:
        if COUNTRY.match(country):
            params["country"] = country
        else:
            errors["country"] = N_("A country is a two-letter code.")
    if area.strip():
        params["area"] = area.strip()
    for name, value in (("from", period_from), ("to", period_to)):
        if value.strip():
            try:
                params[name] = date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                errors[name] = N_("A date is written YYYY-MM-DD.")
    return params, errors


def indicator_series(groups: list[dict[str, Any]], key: str) -> Series:
    """One indicator across the groups (countries or areas); shares as percentages."""
    labels: list[str] = []
    values: list[float | None] = []
    for group in groups:
        labels.append((group.get("country") or "").upper() or group.get("area") or "—")
        value = group.get(key)
        if value is not None and key.endswith("_share"):
            value = round(float(value) * 100, 1)
        values.append(value)
    return Series(labels, values)


@router.get("/statistics", name="web_statistics")
async def statistics_page(
    request: Request,
    caller: WebCallerDep,
    country: str = "",
    area: str = "",
    period_from: str = "",
    period_to: str = "",
) -> Response:
    # ``from`` is a Python keyword: read the filter fields from the query string itself.
    period_from = request.query_params.get("from", period_from)
    period_to = request.query_params.get("to", period_to)
    params, errors = filters(country, area, period_from, period_to)
    figures: dict[str, Any] | None = None
    error = None
    charts: list[dict[str, Any]] = []
    if not errors:
        response = await call(request, caller, "exchange", "GET", "statistics", params=params)
        if response.status_code == 200:
            figures = response.json()
        else:
            error = problem_message(response)
    if figures is not None:
        groups = figures.get("groups") or [figures.get("total") or {}]
        for key, label, unit in INDICATORS:
            charts.append(
                {"key": key, "label": label, "unit": unit, "series": indicator_series(groups, key)}
            )
    return render(
        request,
        "statistics/page.html",
        {
            "values": {"country": country, "area": area, "from": period_from, "to": period_to},
            "errors": errors,
            "error": error,
            "figures": figures,
            "charts": charts,
            "bar_chart": bar_chart,
            "data_table": data_table,
        },
        caller=caller,
        status_code=422 if errors else 200,
    )
