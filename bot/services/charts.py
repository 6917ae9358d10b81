"""Drawing report charts as PNG with matplotlib's Agg canvas (no display, no pyplot state)."""

from __future__ import annotations

import io
import math
import textwrap
import threading
from collections.abc import Callable

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Colormap
from matplotlib.figure import Figure

from bot.domain.reports import HIDDEN_MARK, ChartData

UNDER_COLOUR = "#c0392b"
_DPI = 110
# matplotlib shares font and text caches between figures: one drawing at a time.
_DRAWING = threading.Lock()


def render_png(chart: ChartData) -> bytes:
    """The chart as PNG bytes (safe to call from worker threads)."""
    with _DRAWING:
        return _render(chart)


def draw_locked(draw: Callable[[], bytes]) -> bytes:
    """Run another drawing (a briefing page) under the same lock as the charts."""
    with _DRAWING:
        return draw()


def _render(chart: ChartData) -> bytes:
    figure = Figure(figsize=(8.0, 5.0), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if chart.kind == "line":
        _line(figure, chart)
    elif chart.kind == "bars":
        _bars(figure, chart)
    else:
        _heatmap(figure, chart)
    axes.set_title("\n".join(textwrap.wrap(chart.title, 70)))
    if chart.note:
        figure.text(0.01, 0.005, "\n".join(textwrap.wrap(chart.note, 120)), fontsize=7)
        figure.get_layout_engine().set(h_pad=0.3)  # type: ignore[union-attr, call-arg]
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _values(values: tuple[float | None, ...]) -> list[float]:
    return [math.nan if value is None else value for value in values]


def _line(figure: Figure, chart: ChartData) -> None:
    axes = figure.axes[0]
    positions = list(range(len(chart.x_labels)))
    for series in chart.series:
        axes.plot(positions, _values(series.values), marker="o", label=series.label)
    axes.set_xticks(positions, chart.x_labels, rotation=45, ha="right", fontsize=8)
    if chart.y_range:
        axes.set_ylim(chart.y_range[0] - 0.2, chart.y_range[1] + 0.2)
    axes.set_ylabel(chart.y_label)
    axes.grid(alpha=0.3)
    if chart.series:
        axes.legend(fontsize=8)


def _bars(figure: Figure, chart: ChartData) -> None:
    draw_bars(figure.axes[0], chart)


def draw_bars(axes: Axes, chart: ChartData) -> None:
    """Bars of each series by x label on `axes` (also used by the briefing page)."""
    count = max(len(chart.series), 1)
    width = 0.8 / count
    for index, series in enumerate(chart.series):
        offsets = [x - 0.4 + width * (index + 0.5) for x in range(len(chart.x_labels))]
        bars = axes.bar(offsets, _values(series.values), width, label=series.label)
        for bar, value in zip(bars, series.values, strict=True):
            if value is None:
                axes.text(bar.get_x() + width / 2, 0, HIDDEN_MARK, ha="center", va="bottom")
    axes.set_xlim(-0.6, len(chart.x_labels) - 0.4)
    axes.set_xticks(range(len(chart.x_labels)), chart.x_labels, rotation=20, ha="right")
    for tick in axes.get_xticklabels():
        if tick.get_text() in chart.marked:
            tick.set_color(UNDER_COLOUR)
            tick.set_fontweight("bold")
    axes.set_ylabel(chart.y_label)
    axes.legend(fontsize=8)


def _heatmap(figure: Figure, chart: ChartData) -> None:
    axes = figure.axes[0]
    grid = [_values(series.values) for series in chart.series] or [[math.nan]]
    low, high = chart.y_range or (0.0, max((v for row in grid for v in row if v == v), default=1))
    colours = _colormap("RdYlGn" if chart.y_range else "Blues")
    image = axes.imshow(grid, cmap=colours, vmin=low, vmax=max(high, low + 1), aspect="auto")
    for y, row in enumerate(grid):
        for x, value in enumerate(row):
            text = HIDDEN_MARK if math.isnan(value) else f"{value:g}"
            if chart.cell_texts:
                text = "\n".join(textwrap.wrap(chart.cell_texts[y][x], 18))
            axes.text(x, y, text, ha="center", va="center", fontsize=7 if chart.cell_texts else 9)
    axes.set_xticks(range(len(chart.x_labels)), chart.x_labels, rotation=20, ha="right")
    axes.set_yticks(range(len(chart.series)), [series.label for series in chart.series])
    axes.set_ylabel(chart.y_label)
    figure.colorbar(image, ax=axes)


def _colormap(name: str) -> Colormap:
    return colormaps[name].with_extremes(bad="#dddddd")
