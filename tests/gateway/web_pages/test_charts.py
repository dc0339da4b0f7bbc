"""The SVG charts: accessible, proportional, and safe with any label."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from services.gateway.web.charts import Series, bar_chart, data_table, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


class TestBarChart:
    def test_bars_are_proportional_to_values(self) -> None:
        svg = _parse(
            bar_chart(
                Series(["fr", "de", "pt"], [10, 5, 0]), title="Sent", description="d", chart_id="c"
            )
        )
        bars = svg.findall(f"{SVG}rect")
        heights = [float(b.get("height", "0")) for b in bars]
        assert len(bars) == 3
        assert heights[0] == pytest.approx(2 * heights[1])
        assert heights[2] == 0

    def test_has_title_desc_and_role(self) -> None:
        svg = _parse(
            bar_chart(Series(["a"], [1]), title="Requests", description="Per country", chart_id="x")
        )
        assert svg.get("role") == "img"
        assert svg.findtext(f"{SVG}title") == "Requests"
        assert svg.findtext(f"{SVG}desc") == "Per country"
        assert svg.get("aria-labelledby") == "x-title x-desc"

    def test_missing_value_draws_no_bar(self) -> None:
        svg = _parse(
            bar_chart(Series(["a", "b"], [None, 3]), title="t", description="d", chart_id="c")
        )
        assert len(svg.findall(f"{SVG}rect")) == 1

    def test_labels_are_escaped(self) -> None:
        markup = bar_chart(
            Series(["<script>x</script>"], [1]), title="<b>", description="&", chart_id="c"
        )
        assert "<script>" not in markup
        _parse(markup)  # still well-formed


class TestLineChart:
    def test_gap_breaks_the_line(self) -> None:
        svg = _parse(
            line_chart(
                Series(["1", "2", "3", "4", "5"], [1, 2, None, 3, 4]),
                title="t",
                description="d",
                chart_id="c",
            )
        )
        assert len(svg.findall(f"{SVG}polyline")) == 2
        assert len(svg.findall(f"{SVG}circle")) == 4

    def test_higher_value_is_drawn_higher(self) -> None:
        svg = _parse(
            line_chart(Series(["a", "b"], [1, 4]), title="t", description="d", chart_id="c")
        )
        ys = [float(c.get("cy", "0")) for c in svg.findall(f"{SVG}circle")]
        assert ys[1] < ys[0]


def test_data_table_lists_every_value_with_headers() -> None:
    table = data_table(
        Series(["fr", "de"], [0.5, None]),
        caption="Share",
        label_header="Country",
        value_header="Value",
        unit="%",
    )
    root = _parse(table)
    assert [th.text for th in root.iter("th")] == ["Country", "Value", "fr", "de"]
    assert [td.text for td in root.iter("td")] == ["0.50%", "—"]


def test_series_needs_one_value_per_label() -> None:
    with pytest.raises(ValueError, match="one value per label"):
        Series(["a", "b"], [1])


def test_markup_text_is_not_escaped_twice() -> None:
    markup = bar_chart(
        Series(["a"], [1]), title=Markup("Taux d&#39;acceptation"), description="d", chart_id="c"
    )
    assert _parse(markup).findtext(f"{SVG}title") == "Taux d'acceptation"
