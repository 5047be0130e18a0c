"""Chart geometry for the HTML reports: numbers in, SVG coordinates out (templates draw them).

Only numbers and grader-chosen labels pass through here, so nothing a student wrote can reach
an SVG attribute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from grader.i18n import _, tr

WIDTH, HEIGHT, MARGIN = 320, 160, 34


@dataclass
class Series:
    label: str
    points: str  # "x,y x,y ..." for <polyline>
    css: str  # class name that sets colour and dash


@dataclass
class LineChart:
    """Curves over training steps on shared axes, e.g. the student's loss beside the reference."""

    title: str
    series: list[Series]
    y_ticks: list[tuple[float, str]]  # (y pixel, label)
    x_ticks: list[tuple[float, str]]
    threshold: tuple[float, str] | None = None  # a horizontal line (y pixel, label)
    width: int = WIDTH
    height: int = HEIGHT
    x_label: str = "step"


def _finite(values: list) -> list[float]:
    return [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def line_chart(title: str, curves: list[tuple[str, list, str]], threshold: float | None = None) -> LineChart | None:
    """A chart of `curves` (label, values per step, css class); None when there is nothing finite to draw."""
    finite = [v for _label, values, _css in curves for v in _finite(values)] + ([threshold] if threshold is not None else [])
    steps = max((len(values) for _label, values, _css in curves), default=0)
    if not finite or steps < 2:
        return None
    low, high = min(finite + [0.0]), max(finite)
    high = high if high > low else low + 1.0
    inner_w, inner_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN

    def x(step: int) -> float:
        return round(MARGIN + inner_w * step / (steps - 1), 1)

    def y(value: float) -> float:
        return round(HEIGHT - MARGIN - inner_h * (value - low) / (high - low), 1)

    series = []
    for label, values, css in curves:
        points = " ".join(f"{x(i)},{y(float(v))}" for i, v in enumerate(values)
                          if isinstance(v, (int, float)) and math.isfinite(v))
        if points:
            series.append(Series(label, points, css))
    y_ticks = [(y(v), f"{v:.3g}") for v in (low, (low + high) / 2, high)]
    x_ticks = [(x(0), "0"), (x(steps - 1), str(steps - 1))]
    line = (y(threshold), tr("pass ≥ {threshold:g}", threshold=threshold)) if threshold is not None else None
    return LineChart(title, series, y_ticks, x_ticks, line, x_label=_("step"))


def curve_chart(title: str, x: list[float], curves: list[tuple[str, list, str]]) -> LineChart | None:
    """Curves over a shared x axis (Part 4: the model against the target on the grid); None when
    nothing finite is left to draw."""
    finite = [v for _label, values, _css in curves for v in _finite(values)]
    xs = _finite(x)
    if not finite or len(xs) < 2 or len(xs) != len(x):
        return None
    low, high = min(finite), max(finite)
    high = high if high > low else low + 1.0
    left, right = xs[0], xs[-1] if xs[-1] > xs[0] else xs[0] + 1.0
    width, height = 2 * WIDTH, 2 * HEIGHT - 40
    inner_w, inner_h = width - 2 * MARGIN, height - 2 * MARGIN

    def px(value: float) -> float:
        return round(MARGIN + inner_w * (value - left) / (right - left), 1)

    def py(value: float) -> float:
        return round(height - MARGIN - inner_h * (value - low) / (high - low), 1)

    series = []
    for label, values, css in curves:
        points = " ".join(f"{px(a)},{py(float(b))}" for a, b in zip(xs, values)
                          if isinstance(b, (int, float)) and math.isfinite(b))
        if points:
            series.append(Series(label, points, css))
    y_ticks = [(py(v), _short(v)) for v in (low, (low + high) / 2, high)]
    x_ticks = [(px(left), _short(left)), (px(right), _short(right))]
    return LineChart(title, series, y_ticks, x_ticks, None, width, height, "x")


def _short(value: float) -> str:
    """A tick label that fits the chart's margin: 1.03e4 becomes 10.3k."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


@dataclass
class Bar:
    label: str
    value: float  # shown as text
    x: float
    y: float
    width: float
    height: float
    css: str = ""


@dataclass
class BarChart:
    title: str
    bars: list[Bar]
    width: int
    height: int
    axis_labels: list[tuple[float, float, str]] = field(default_factory=list)  # (x, y, text)


def histogram(title: str, scores: list[float], max_score: float, bins: int = 10) -> BarChart:
    """Counts of total scores in `bins` equal ranges from 0 to `max_score`."""
    width, height, base = 420, 170, 140
    counts = [0] * bins
    for score in scores:
        index = min(bins - 1, int(bins * score / max_score)) if max_score > 0 else 0
        counts[max(0, index)] += 1
    tallest = max(counts + [1])
    slot = (width - 20) / bins
    bars, labels = [], []
    for i, count in enumerate(counts):
        bar_h = (base - 20) * count / tallest
        lower = max_score * i / bins
        bars.append(Bar(f"{lower:g}–{max_score * (i + 1) / bins:g}", count, round(10 + i * slot + 2, 1),
                        round(base - bar_h, 1), round(slot - 4, 1), round(bar_h, 1)))
        labels.append((round(10 + i * slot + slot / 2, 1), base + 14, f"{lower:g}"))
    labels.append((width - 10, base + 28, tr("points (max {max_score:g})", max_score=max_score)))
    return BarChart(title, bars, width, height + 10, labels)


def pass_rates(title: str, rates: list[tuple[str, float]]) -> BarChart:
    """Horizontal bars: the share of hand-ins passing each check (0..1)."""
    row, label_w, bar_w = 16, 190, 220
    bars = []
    for i, (check_id, rate) in enumerate(rates):
        css = "good" if rate >= 0.8 else "mid" if rate >= 0.5 else "bad"
        bars.append(Bar(check_id, round(100 * rate), label_w, 6 + i * row, round(bar_w * rate, 1), row - 4, css))
    return BarChart(title, bars, label_w + bar_w + 50, 12 + row * len(rates))
