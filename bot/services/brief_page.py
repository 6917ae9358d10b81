"""Drawing a representative's briefing pack as one A4 page (PNG) with matplotlib's Agg canvas:
the page's words as they come (also kept as the PNG's text), and a bar chart of the latest
figures (hidden ones marked)."""

from __future__ import annotations

import io
import textwrap

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.domain.parent_ties import BriefPage, BriefSection
from bot.services.charts import draw_bars, draw_locked

_DPI = 100
_A4 = (8.27, 11.69)  # inches, portrait
_WRAP = 95  # characters per line of body text
_LINE = 0.019  # the height of a line of body text, as a part of the page


def render_brief(page: BriefPage) -> bytes:
    """The page as PNG bytes (safe to call from worker threads)."""
    return draw_locked(lambda: _render(page))


def _render(page: BriefPage) -> bytes:
    figure = Figure(figsize=_A4, dpi=_DPI)
    FigureCanvasAgg(figure)
    figure.text(0.06, 0.955, page.title, fontsize=18, fontweight="bold", va="top")
    figure.text(0.06, 0.925, page.subtitle, fontsize=10, color="#555555", va="top")
    y = 0.885
    for section in (*page.sections, page.figures):
        y = _section(figure, section, y)
    if page.chart is not None and y > 0.3:
        axes = figure.add_axes((0.1, 0.1, 0.85, min(0.22, y - 0.16)))
        draw_bars(axes, page.chart)
        axes.set_title(page.chart.title, fontsize=10)
        if page.chart.y_range:
            axes.set_ylim(0, page.chart.y_range[1])
    figure.text(0.06, 0.02, "\n".join(textwrap.wrap(page.footer, 120)), fontsize=7, va="bottom")
    buffer = io.BytesIO()
    # The page's words ride along as PNG text, for screen readers and search (nothing more).
    figure.savefig(buffer, format="png", metadata={"Title": page.title, "Description": _text(page)})
    return buffer.getvalue()


def _section(figure: Figure, section: BriefSection, y: float) -> float:
    """Draw a heading and its lines from `y` down; where the next section starts."""
    figure.text(0.06, y, section.heading, fontsize=12, fontweight="bold", va="top")
    y -= 0.028
    lines = section.lines or (section.empty,)
    for line in lines:
        wrapped = textwrap.wrap(line, _WRAP) or [""]
        figure.text(0.08, y, "• " + "\n  ".join(wrapped), fontsize=9, va="top")
        y -= _LINE * len(wrapped) + 0.004
    return y - 0.02


def _text(page: BriefPage) -> str:
    """Everything the page says, line by line."""
    lines = [page.title, page.subtitle]
    for section in (*page.sections, page.figures):
        lines += [section.heading, *(section.lines or (section.empty,))]
    return "\n".join([*lines, page.footer])
