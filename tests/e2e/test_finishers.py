"""A flow's hand-over is declared in the flow (`finisher:`, `at_any_time:`), not tied to its id:
the concern flow shipped under another name and command still becomes a ticket."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from conftest import Database, Phone, go_on_without_media, onboard

from bot.config import Settings
from bot.storage.models import Answer, FlowRun, Ticket

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The shipped flows, with `concerns` renamed `grievance` (and its command /grievance)."""
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows, ignore=shutil.ignore_patterns("tests"))
    data = yaml.safe_load((flows / "concerns.yaml").read_text(encoding="utf-8"))
    data.update(id="grievance", command="grievance")
    (flows / "concerns.yaml").unlink()
    (flows / "grievance.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return settings.model_copy(update={"flows_dir": flows})


async def test_a_flow_handed_to_the_concerns_finisher_becomes_a_ticket(
    admin: Phone, phone: Phone, db: Database
) -> None:
    await onboard(phone)
    await phone.send("/stop")  # `at_any_time: true`: still open to a stopped member
    await phone.send("/grievance")
    for label in ("Trust", "The municipality", "Urgent"):
        await phone.press(f". {label}")
    await phone.send("Nobody answers the phone at the town hall.")
    phone.new()
    await phone.press("Give my name")
    await go_on_without_media(phone)
    assert "with your name" in phone.new_text()
    card = (await admin.wait_for("New concern")).plain_text
    assert "From: Amina" in card and "Urgency: Urgent" in card
    [ticket] = await db.rows(Ticket)
    assert (ticket.category, ticket.about, ticket.urgency) == ("trust", "municipality", "high")
    # Taken over: nothing is kept as answers, and the run is gone.
    assert [r for r in await db.rows(FlowRun) if r.flow_id == "grievance"] == []
    assert [a for a in await db.rows(Answer) if a.flow_id == "grievance"] == []
