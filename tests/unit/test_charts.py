"""Report charts are real PNGs with the expected series, and every report's wording exists."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest
from matplotlib.image import imread

from bot.content import load_flows
from bot.domain.figures import AnswerRow
from bot.domain.reports import ROLES_FLOW, TRUST_FLOW, ChartData, Series
from bot.i18n import Catalogs
from bot.services.charts import render_png
from bot.services.reports import KINDS, Reports

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(data: bytes) -> tuple[int, int]:
    """A PNG: its signature, an IHDR chunk first, and pixels matplotlib can decode."""
    assert data[:8] == PNG_SIGNATURE
    length, chunk = struct.unpack(">I4s", data[8:16])
    assert chunk == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    pixels = imread(io.BytesIO(data), format="png")
    assert pixels.shape[:2] == (height, width)
    return width, height


@pytest.mark.parametrize("kind", ["line", "bars", "heatmap"])
def test_every_chart_kind_draws_a_png(kind: str) -> None:
    chart = ChartData(
        kind=kind,  # type: ignore[arg-type]
        title="Trust",
        x_labels=("a", "b", "c"),
        series=(Series("one", (1.0, None, 3.0)), Series("two", (None, None, None))),
        note="Figures over fewer than 5 people are hidden.",
        y_range=(1.0, 5.0),
        marked=("b",),
    )
    width, height = assert_png(render_png(chart))
    assert width > 400 and height > 300


def test_an_empty_chart_still_draws() -> None:
    assert_png(render_png(ChartData(kind="heatmap", title="Nothing", x_labels=(), series=())))


def _rows() -> list[AnswerRow]:
    day = datetime(2026, 11, 2, tzinfo=UTC)
    return [
        AnswerRow(TRUST_FLOW, question, "community", day, number=value)
        for _ in range(5)
        for question, value in (("municipality", 4.0), ("private_sector", 2.0))
    ]


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_every_report_has_its_wording(locale: str) -> None:
    catalogs = Catalogs.load(ROOT / "locales", default="en")
    flows = load_flows(ROOT / "flows", locale_keys=catalogs.keys())
    translator = catalogs.translator(locale)
    used: set[str] = set()

    def words(key: str, /, **params: object) -> str:
        used.add(key)
        return translator(key, **params)

    reports = Reports(flows=flows, min_group=5)
    for kind in KINDS:
        part = reports.part(kind, _rows(), members={"community": 5}, since=None, words=words)
        assert_png(part.png)
        assert part.text.startswith(f"<b>{part.chart.title}</b>")
    for key in ("report.total", "report.group.unknown"):
        used.add(key)
    missing = sorted(key for key in used if key not in catalogs.keys()[locale])
    assert missing == []


def test_tables_print_hidden_figures_as_a_dash() -> None:
    catalogs = Catalogs.load(ROOT / "locales", default="en")
    flows = load_flows(ROOT / "flows", locale_keys=catalogs.keys())
    rows = _rows() + [
        AnswerRow(
            TRUST_FLOW,
            "municipality",
            "private_sector",
            datetime(2026, 11, 3, tzinfo=UTC),
            number=1.0,
        )
    ]
    part = Reports(flows=flows, min_group=5).part(
        "matrix", rows, members={}, since=None, words=catalogs.translator("en")
    )
    assert part.lines[0] == "How each group (rows) trusts each group (columns), 1–5"
    header, private, community, total = part.lines[1:]
    assert header.split()[0] == "Municipality" and header.split()[-1] == "Total"
    assert community.startswith("Community member")
    # the lone private-sector rating is withheld: shown as a dash and in no total, so the
    # community's figures beside it give nothing away
    assert "2.00" in community and "4.00" in community
    assert private.startswith("Private company") and "1.00" not in private and "–" in private
    assert total.split()[-1] == "3.00"


def _role_rows() -> list[AnswerRow]:
    """Six municipality members lead decisions and bring funding; two private companies lead
    decisions too and bring technical skills."""
    day = datetime(2026, 11, 2, tzinfo=UTC)
    rows = []
    for person, group, brings in [(n, "municipality", ("funding",)) for n in range(6)] + [
        (n, "private_sector", ("technical_skills",)) for n in range(10, 12)
    ]:
        for question, areas in (("brings", brings), ("leads", ("decisions",))):
            rows += [
                AnswerRow(
                    ROLES_FLOW,
                    question,
                    group,
                    day,
                    choice=a,
                    respondent=f"m{person}",
                    response=f"r{person}",
                )
                for a in areas
            ]
    return rows


def test_the_role_map_tells_leaders_from_supporters() -> None:
    catalogs = Catalogs.load(ROOT / "locales", default="en")
    flows = load_flows(ROOT / "flows", locale_keys=catalogs.keys())
    part = Reports(flows=flows, min_group=5).part(
        "roles", _role_rows(), members={}, since=None, words=catalogs.translator("en")
    )
    assert_png(part.png)
    assert part.lines[0] == "Role map: who says they lead or support what"
    header, *body, total = part.lines[1:]
    # the two private companies are fewer than k: left out, with what they claim
    assert header.split() == ["Municipality"]
    assert [line.split("  ")[0] for line in body] == [
        "Funding or resources – support",
        "Decision-making power – lead",
    ]
    assert body[0].split()[-1] == "6" and body[1].split()[-1] == "6"
    assert total.split()[1:] == ["12"]
    assert "Gaps – nobody says they lead: Local knowledge, Technical skills" in part.text
    assert "Support but no lead: Funding or resources." in part.text
    assert "Overlap" not in part.text and "Private company" not in part.text
    assert "whether they lead" not in part.text
