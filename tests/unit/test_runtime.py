"""The features are built once over one content holder; a reload is one swap all of them see."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.content import Content
from bot.domain.clock import SystemClock
from bot.services.runtime import Services
from bot.services.sealing import Sealer

ROOT = Path(__file__).resolve().parents[2]


def test_a_swap_reaches_every_service() -> None:
    settings = Settings(_env_file=None, flows_dir=ROOT / "flows", locales_dir=ROOT / "locales")
    content = Content.load(settings)
    catalogs = content.catalogs
    services = Services.build(
        settings,
        content,
        sealer=Sealer(b"k" * 32),
        clock=SystemClock(),
    )
    loaded = Content.load(settings)
    content.swap(loaded)

    assert content.flows is loaded.flows
    # Handlers hold the Catalogs object itself: it stays, with the new wording in it.
    assert content.catalogs is catalogs
    assert services.conversations.flows is loaded.flows
    assert services.checkins.flows is loaded.flows
    assert services.digests.flows is loaded.flows
    assert services.reports.flows is loaded.flows
    assert services.broadcasts.groups == loaded.groups
    assert services.conversations.locales == loaded.locales
