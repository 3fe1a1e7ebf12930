"""Line charts as geometry for an SVG the template draws: no script, no canvas.

A chart is its series' polylines in a fixed viewBox, a few axis labels, and optional points
(exemplars) that are links to a trace's page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.backend.explorer.prometheus import Exemplar, Series

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 10, 22        # room for the axis labels
EXEMPLAR_SLOTS = 120
COLOURS = ["#2457c5", "#e07b00", "#c62828", "#2e7d32", "#8e6cc0", "#00838f"]


@dataclass(frozen=True)
class Line:
    name: str
    colour: str
    points: str                 # SVG polyline "x,y x,y ..."


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    trace_id: str
    title: str


@dataclass
class Chart:
    title: str
    unit: str
    lines: list[Line] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    y_labels: list[tuple[float, str]] = field(default_factory=list)    # (y, text)
    x_labels: list[tuple[float, str]] = field(default_factory=list)    # (x, text)
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        return not self.lines and not self.points


def line_chart(title: str, unit: str, series: list[tuple[str, Series]], start: float,
               end: float, exemplars: list[Exemplar] | None = None) -> Chart:
    """Named series (and exemplar points) on one time axis from `start` to `end`."""
    exemplars = [e for e in exemplars or [] if start <= e.at <= end]
    values = [v for _, s in series for _, v in s.points] + [e.value for e in exemplars]
    top = _nice_ceiling(max(values, default=0.0))

    def x(at: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (at - start) / max(end - start, 1e-9)

    def y(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)

    chart = Chart(title, unit)
    for i, (name, one) in enumerate(series):
        if one.points:
            chart.lines.append(Line(name, COLOURS[i % len(COLOURS)],
                                    " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in one.points)))
    chart.points = [Point(x(e.at), y(e.value), e.trace_id,
                          f"{_number(e.value)} {unit} at {_clock(e.at)}: open trace")
                    for e in _slowest_per_slot(exemplars, start, end)]
    chart.y_labels = [(y(top * f), _number(top * f)) for f in (0.0, 0.5, 1.0)]
    chart.x_labels = [(x(start + (end - start) * f), _clock(start + (end - start) * f))
                      for f in (0.0, 0.5, 1.0)]
    return chart


def _slowest_per_slot(exemplars: list[Exemplar], start: float, end: float) -> list[Exemplar]:
    """At most one point per EXEMPLAR_SLOTS-th of the axis, the slowest: a busy hour has
    thousands, and the outliers are what one opens."""
    slots: dict[int, Exemplar] = {}
    for exemplar in exemplars:
        slot = int(EXEMPLAR_SLOTS * (exemplar.at - start) / max(end - start, 1e-9))
        if slot not in slots or exemplar.value > slots[slot].value:
            slots[slot] = exemplar
    return [slots[slot] for slot in sorted(slots)]


def _nice_ceiling(value: float) -> float:
    """1, 2 or 5 times a power of ten, at or above the value (an axis that reads well)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M")
