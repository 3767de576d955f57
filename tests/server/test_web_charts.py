"""The SVG charts of the training-metrics tab (``server/web/charts.py``): pure functions, no server.

Scales, "nice" ticks and their labels, down-sampling that keeps the extremes, and the SVG itself: well-formed
XML, every untrusted text escaped, nothing a Content-Security-Policy without inline styles or scripts would
block.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from modelyard.server.web import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on markup that is not well-formed (an unescaped name would be)


# -- points and down-sampling -------------------------------------------------------------------------
def test_finite_points_drop_nan_infinity_booleans_and_text_and_sort_by_x() -> None:
    pairs = [(3, 1.0), (1, math.nan), (2, math.inf), (0, -math.inf), (4, True), ("5", 1.0), (None, 2.0),
             (6, 0.5), (-1, 2)]
    assert charts.finite_points(pairs) == [(-1.0, 2.0), (3.0, 1.0), (6.0, 0.5)]


def test_a_short_series_is_not_down_sampled() -> None:
    points = [(float(i), float(i % 7)) for i in range(50)]
    assert charts.downsample(points, 50) == points


def test_downsampling_bounds_the_points_and_keeps_first_last_and_every_spike() -> None:
    points = [(float(i), math.sin(i / 500)) for i in range(100_000)]
    points[31_337] = (31_337.0, 50.0)  # a loss spike
    points[77_777] = (77_777.0, -40.0)  # and a dip
    thinned = charts.downsample(points, 400)
    assert len(thinned) <= 400
    assert thinned[0] == points[0] and thinned[-1] == points[-1]
    assert (31_337.0, 50.0) in thinned and (77_777.0, -40.0) in thinned
    xs = [x for x, _ in thinned]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)  # in order, no point twice
    assert set(thinned) <= set(points)  # only real points, never interpolated ones


def test_downsampling_refuses_a_limit_too_small_to_keep_a_bucket() -> None:
    with pytest.raises(ValueError, match="limit=3"):
        charts.downsample([(0.0, 0.0)] * 10, 3)


# -- scales and ticks ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("span", "count", "step"), [
    (10, 5, 2), (1, 5, 0.2), (100, 4, 50), (7, 5, 2), (0.0007, 5, 0.0002), (3e-5, 3, 1e-5), (12345, 6, 5000)])
def test_nice_steps_are_one_two_or_five_times_a_power_of_ten(span: float, count: int, step: float) -> None:
    assert charts.nice_step(span, count) == pytest.approx(step)


@pytest.mark.parametrize("span", [0, -1, math.nan, math.inf])
def test_nice_step_refuses_an_empty_or_non_finite_span(span: float) -> None:
    with pytest.raises(ValueError, match="span"):
        charts.nice_step(span, 5)


def test_the_domain_widens_to_whole_steps_around_the_data() -> None:
    start, end, step = charts.nice_domain(0.13, 0.97)
    assert (start, end, step) == pytest.approx((0.0, 1.0, 0.2))
    assert charts.ticks(start, end, step) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]  # no 0.6000000000000001


def test_a_flat_series_gets_a_range_around_its_value() -> None:
    start, end, _ = charts.nice_domain(0.5, 0.5)
    assert start < 0.5 < end
    start, end, _ = charts.nice_domain(0.0, 0.0)
    assert start < 0.0 < end


def test_step_axes_tick_at_whole_steps() -> None:
    start, end, step = charts.nice_domain(4, 4, count=6, integer=True)
    assert step >= 1 and all(float(t).is_integer() for t in charts.ticks(start, end, step))
    start, end, step = charts.nice_domain(0, 36, count=6, integer=True)
    assert charts.ticks(start, end, step) == [0, 10, 20, 30, 40]


@pytest.mark.parametrize(("value", "step", "label"), [
    (0.0, 0.1, "0"), (0.4, 0.2, "0.4"), (0.75, 0.25, "0.75"), (1500.0, 500.0, "1500"), (2e-5, 1e-5, "2e-5"),
    (2.5e-5, 5e-6, "2.5e-5"), (5e-5, 5e-6, "5e-5"), (3e6, 1e6, "3e6"), (-0.5, 0.5, "-0.5"), (12.0, 2.0, "12")])
def test_tick_labels_carry_the_digits_the_step_needs(value: float, step: float, label: str) -> None:
    assert charts.format_tick(value, step) == label


def test_a_scale_maps_the_domain_onto_pixels_upside_down_for_y() -> None:
    y = charts.Scale(0.0, 2.0, 250.0, 50.0)
    assert (y(0.0), y(1.0), y(2.0)) == (250.0, 150.0, 50.0)


# -- the SVG ------------------------------------------------------------------------------------------
def _chart(**overrides: object) -> str:
    values: dict = dict(title="Loss", chart_id="chart-0", series=[
        charts.Series("loss", [(0.0, 1.0), (10.0, 0.5), (20.0, 0.25)]),
        charts.Series("eval_loss", [(10.0, 0.6), (20.0, 0.4)])])
    values.update(overrides)
    return charts.line_chart(values.pop("title"), values.pop("series"), **values)


def test_a_chart_has_a_title_axes_ticks_labels_a_legend_and_one_path_per_series() -> None:
    root = parse(_chart())
    assert root.tag == f"{SVG}svg" and root.get("class") == "chart" and root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Loss"
    assert "loss, eval_loss against step" in root.find(f"{SVG}desc").text
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"0", "10", "20"} <= set(texts)  # x ticks
    assert {"0.2", "0.4", "1.0"} <= set(texts)  # y ticks
    assert "step" in texts and "loss (0.25)" in texts and "eval_loss (0.4)" in texts
    series = [g for g in root.iter(f"{SVG}g") if g.get("class") == "series"]
    assert len(series) == 2 and series[0].get("stroke") != series[1].get("stroke")
    assert [len(g.findall(f"{SVG}path")) for g in series] == [1, 1]
    assert len(series[1].findall(f"{SVG}circle")) == 2  # a short series also gets dots


def test_points_land_where_the_scales_put_them() -> None:
    root = parse(_chart(series=[charts.Series("x", [(0.0, 0.0), (10.0, 1.0)])]))
    path = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "series").find(f"{SVG}path").get("d")
    first, last = path[1:].split("L")
    assert first == f"{charts.MARGIN_LEFT:.1f},{charts.HEIGHT - charts.MARGIN_BOTTOM:.1f}"  # bottom-left corner
    assert last.startswith(f"{charts.WIDTH - charts.MARGIN_RIGHT:.1f},")  # right edge


def test_untrusted_names_are_escaped_and_cannot_add_markup() -> None:
    evil = "</text><script>alert(1)</script><foreignObject onload=alert(2)>\"'&"
    svg = _chart(title=evil, series=[charts.Series(evil, [(1.0, 1.0), (2.0, 2.0)])], y_label=evil, x_label=evil)
    root = parse(svg)
    tags = {element.tag.removeprefix(SVG) for element in root.iter()}
    assert tags <= {"svg", "title", "desc", "g", "line", "text", "path", "circle", "rect"}
    assert "<script" not in svg and "<foreignObject" not in svg
    assert any(t.text and t.text.startswith(evil) for t in root.iter(f"{SVG}text"))  # shown as text
    assert root.find(f"{SVG}title").text == evil


def test_no_style_attributes_or_event_handlers_anywhere() -> None:
    root = parse(_chart())
    for element in root.iter():
        assert "style" not in element.attrib
        assert not any(name.startswith("on") for name in element.attrib)


def test_a_long_name_is_cut_in_the_legend_but_whole_in_the_description() -> None:
    name = "eval_" + "x" * 300
    root = parse(_chart(series=[charts.Series(name, [(1.0, 1.0)])]))
    legend = [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.startswith("eval_")]
    assert legend and len(legend[0]) < 100 and "…" in legend[0]
    assert name in root.find(f"{SVG}desc").text


def test_many_series_wrap_the_legend_onto_more_rows() -> None:
    series = [charts.Series(f"metric_number_{i}", [(0.0, float(i)), (1.0, float(i))]) for i in range(8)]
    root = parse(_chart(series=series))
    rows = {float(r.get("y")) for r in root.iter(f"{SVG}rect")}
    assert len(rows) >= 2


def test_a_chart_without_points_says_so() -> None:
    root = parse(_chart(series=[charts.Series("loss", [])]))
    assert [t.text for t in root.iter(f"{SVG}text")] == ["no data"]


def test_chart_ids_must_be_xml_ids() -> None:
    with pytest.raises(ValueError, match="chart_id"):
        _chart(chart_id='x" onload="alert(1)')
