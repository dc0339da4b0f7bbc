"""Server-rendered SVG charts (bar and line): accessible title, description and data table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape as _escape

from markupsafe import Markup

WIDTH = 640
HEIGHT = 300
MARGIN_LEFT = 56
MARGIN_RIGHT = 16
MARGIN_TOP = 16
MARGIN_BOTTOM = 64
TICKS = 4
# Dark blue on white: contrast ratio above 7:1 (WCAG AA asks 3:1 for graphics).
BAR_COLOUR = "#1f4e8c"
LINE_COLOUR = "#8c1f4e"


def escape(text: str) -> str:
    """Escape once: a translated text may come already escaped as Markup."""
    return _escape(text.unescape() if isinstance(text, Markup) else str(text))


@dataclass(frozen=True)
class Series:
    """Labelled values; a value of None is a gap (no data), not a zero."""

    labels: Sequence[str]
    values: Sequence[float | None]

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.values):
            raise ValueError("a series needs one value per label")


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
    return f"{text}{unit}"


def _scale_max(values: Sequence[float | None]) -> float:
    present = [v for v in values if v is not None]
    top = max(present, default=0.0)
    return float(top) if top > 0 else 1.0


def _axes(top: float, unit: str) -> list[str]:
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    parts = [
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP}" x2="{MARGIN_LEFT}" '
        f'y2="{HEIGHT - MARGIN_BOTTOM}" stroke="#333" />',
        f'<line x1="{MARGIN_LEFT}" y1="{HEIGHT - MARGIN_BOTTOM}" x2="{WIDTH - MARGIN_RIGHT}" '
        f'y2="{HEIGHT - MARGIN_BOTTOM}" stroke="#333" />',
    ]
    for i in range(TICKS + 1):
        value = top * i / TICKS
        y = HEIGHT - MARGIN_BOTTOM - plot_h * i / TICKS
        parts.append(
            f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="#222">{escape(_format(round(value, 2), unit))}</text>'
        )
    return parts


def _label(x: float, text: str) -> str:
    y = HEIGHT - MARGIN_BOTTOM + 14
    return (
        f'<text x="{x:.1f}" y="{y}" text-anchor="end" font-size="11" fill="#222" '
        f'transform="rotate(-40 {x:.1f} {y})">{escape(text)}</text>'
    )


def _wrap(kind: str, title: str, description: str, body: list[str], chart_id: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'class="chart chart-{kind}" data-testid="chart-{escape(chart_id)}" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def data_table(
    series: Series, *, caption: str, label_header: str, value_header: str, unit: str = ""
) -> Markup:
    """The chart's data as an HTML table, the text alternative of the drawing."""
    rows = "".join(
        f'<tr><th scope="row">{escape(label)}</th><td>{escape(_format(value, unit))}</td></tr>'
        for label, value in zip(series.labels, series.values, strict=True)
    )
    return Markup(
        f'<table class="chart-data"><caption>{escape(caption)}</caption>'
        f'<thead><tr><th scope="col">{escape(label_header)}</th>'
        f'<th scope="col">{escape(value_header)}</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def bar_chart(
    series: Series, *, title: str, description: str, chart_id: str, unit: str = ""
) -> Markup:
    """A vertical bar chart; each bar carries its value as a tooltip title."""
    top = _scale_max(series.values)
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    body = _axes(top, unit)
    count = max(len(series.labels), 1)
    slot = plot_w / count
    bar_w = max(slot * 0.7, 1.0)
    for i, (label, value) in enumerate(zip(series.labels, series.values, strict=True)):
        x = MARGIN_LEFT + slot * i + (slot - bar_w) / 2
        if value is not None:
            h = plot_h * max(value, 0.0) / top
            y = HEIGHT - MARGIN_BOTTOM - h
            body.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{BAR_COLOUR}" data-value="{value}">'
                f"<title>{escape(label)}: {escape(_format(value, unit))}</title></rect>"
            )
        body.append(_label(x + bar_w / 2, label))
    return Markup(_wrap("bar", title, description, body, chart_id))


def line_chart(
    series: Series, *, title: str, description: str, chart_id: str, unit: str = ""
) -> Markup:
    """A line chart with a marked point per value; gaps (None) break the line."""
    top = _scale_max(series.values)
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    body = _axes(top, unit)
    count = len(series.labels)
    step = plot_w / (count - 1) if count > 1 else 0.0
    segments: list[list[str]] = [[]]
    for i, (label, value) in enumerate(zip(series.labels, series.values, strict=True)):
        x = MARGIN_LEFT + step * i if count > 1 else MARGIN_LEFT + plot_w / 2
        body.append(_label(x, label))
        if value is None:
            segments.append([])
            continue
        y = HEIGHT - MARGIN_BOTTOM - plot_h * max(value, 0.0) / top
        segments[-1].append(f"{x:.1f},{y:.1f}")
        body.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{LINE_COLOUR}" '
            f'data-value="{value}"><title>{escape(label)}: {escape(_format(value, unit))}'
            "</title></circle>"
        )
    for points in segments:
        if len(points) > 1:
            body.insert(
                2,
                f'<polyline class="line" fill="none" stroke="{LINE_COLOUR}" stroke-width="2" '
                f'points="{" ".join(points)}" />',
            )
    return Markup(_wrap("line", title, description, body, chart_id))
