"""The anonymity key: never created beside the database, one per cluster (the database keeps
its fingerprint), and rotated by `partnerbot keys rotate` without losing a route."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    ROOT,
    TOKEN,
    Database,
    Phone,
    begin_flow,
    closed_port,
    onboard,
    release_ballots,
    running_app,
)
from pydantic import SecretStr
from sqlmodel import col, select
from test_backups import cli
from test_concerns import raise_concern
from test_data_rights import everything

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.services.sealing import KeyProblem, Sealer
from bot.storage import audit
from bot.storage.models import Answer, KeyRing, TicketRoute

OTHER_KEY = "another-anonymity-key-0123456789abcdef"


def partnerbot_run(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """`partnerbot run` in `tmp_path` with only these settings, against no Telegram at all:
    it stops at start-up either way, refusing or failing to reach Telegram."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ["HOME"],
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": f"http://127.0.0.1:{closed_port()}",
        "REQUEST_RETRIES": "0",
        "FLOWS_DIR": str(ROOT / "flows"),
        "LOCALES_DIR": str(ROOT / "locales"),
        **settings,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def database_settings(settings: Settings) -> dict[str, str]:
    found = {"DATABASE_URL": settings.database_url}
    if settings.database_schema:
        found["DATABASE_SCHEMA"] = settings.database_schema
    return found


def test_by_default_the_key_file_is_made_apart_from_the_data(tmp_path: Path) -> None:
    done = partnerbot_run(tmp_path)  # DATABASE_URL's default: data/partnerbot.db
    assert (tmp_path / "data" / "partnerbot.db").exists()
    assert not (tmp_path / "data" / "anonymity.key").exists()
    key = tmp_path / "config" / "partnerbot" / "anonymity.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert f"created a new anonymity key in {key}" in done.stderr


def test_a_key_file_in_the_database_directory_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = partnerbot_run(tmp_path, ANONYMITY_KEY_FILE=str(data / "anonymity.key"))
    assert done.returncode == 2, done.stderr
    assert "partnerbot: no anonymity key: ANONYMITY_KEY is not set and" in done.stderr
    assert f"Set ANONYMITY_KEY, or ANONYMITY_KEY_FILE to a path outside {data}" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (data / "anonymity.key").exists()


def test_an_old_key_file_beside_the_database_is_used_with_a_warning(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "anonymity.key").write_text("an-old-deployments-anonymity-key-0123456789\n")
    done = partnerbot_run(tmp_path, ANONYMITY_KEY_FILE=str(data / "anonymity.key"))
    assert f"the anonymity key file {data / 'anonymity.key'} is in the database's directory" in (
        done.stderr
    )
    assert "partnerbot stopped on an error" in done.stderr  # it went on, to reach Telegram


async def test_an_instance_with_another_key_or_none_refuses_to_start(
    app: BotApp, settings: Settings, tmp_path: Path
) -> None:
    other = await asyncio.to_thread(
        partnerbot_run, tmp_path, ANONYMITY_KEY=OTHER_KEY, **database_settings(settings)
    )
    assert other.returncode == 2, other.stderr
    assert (
        "partnerbot: ANONYMITY_KEY is not the anonymity key this database was set up with"
        in other.stderr
    )
    assert "Every instance needs the same key: fix ANONYMITY_KEY." in other.stderr

    none = await asyncio.to_thread(partnerbot_run, tmp_path, **database_settings(settings))
    assert none.returncode == 2, none.stderr
    assert "this database was set up with an anonymity key, and none is configured" in none.stderr
    assert "Set ANONYMITY_KEY, or ANONYMITY_KEY_FILE" in none.stderr
    assert not (tmp_path / "config" / "partnerbot" / "anonymity.key").exists()

    # The database holds a fingerprint of the key, never the key.
    assert settings.anonymity_key is not None
    key = settings.anonymity_key.get_secret_value()
    rows = await everything(app)
    [ring] = rows["keyring"]
    assert ring["fingerprint"] == Sealer(key.encode()).fingerprint()
    assert key not in repr(rows)


async def test_keys_rotate_reseals_routes_and_tags(
    admin: Phone,
    emulator: BotAPIEmulator,
    app: BotApp,
    cli_env: Settings,
    clock: ManualClock,
    db: Database,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = cli_env
    raiser = Phone(emulator, app, user_id=1002, first_name="Fatou")
    await onboard(raiser)
    said = await raise_concern(
        raiser,
        category="Trust",
        about="The municipality",
        urgency="Urgent",
        text="Meetings move without notice.",
        identity="Stay anonymous",
    )
    handle = said.split("ticket ")[1].split(" ")[0].rstrip(";")
    await admin.wait_for(f"New concern {handle}")
    member = await db.member(raiser.user_id)
    assert member is not None and member.id is not None
    await app.stop()

    assert settings.anonymity_key is not None
    old_key = settings.anonymity_key.get_secret_value()
    (tmp_path / "old.key").write_text(old_key)
    new_key_file = tmp_path_factory.mktemp("keys") / "new.key"  # not beside the database
    monkeypatch.delenv("ANONYMITY_KEY")  # the new key comes from its file
    assert await cli("keys", "new", str(new_key_file)) == 0
    assert stat.S_IMODE(new_key_file.stat().st_mode) == 0o600
    monkeypatch.setenv("ANONYMITY_KEY_FILE", str(new_key_file))
    old_file = str(tmp_path / "old.key")
    wrong = tmp_path / "wrong.key"
    wrong.write_text(OTHER_KEY)
    assert await cli("keys", "rotate", "--old-key-file", str(wrong)) == 2
    assert await cli("keys", "rotate", "--old-key-file", old_file) == 0

    new = Sealer(new_key_file.read_bytes().strip())
    [route] = await db.rows(TicketRoute)
    assert new.unseal(route.sealed) == member.id
    assert Sealer(old_key.encode()).unseal(route.sealed) is None
    assert route.raiser_tag == new.tag("raiser", member.id)
    [ring] = await db.rows(KeyRing)
    assert ring.fingerprint == new.fingerprint()
    async with db.session_factory() as session:
        entries = await audit.list_entries(session)
    assert [(e.action, e.actor_label, e.detail["resealed"]) for e in entries[:1]] == [
        ("keys.rotated", "cli", 1)
    ]

    # The old key no longer opens the database; with the new one the relay still works.
    stale = BotApp(settings, clock=clock)
    with pytest.raises(KeyProblem, match="is not the anonymity key"):
        await stale.prepare()
    assert stale.runtime is None  # and its connections are closed
    rotated = settings.model_copy(update={"anonymity_key": SecretStr(new_key_file.read_text())})
    async with running_app(rotated, clock) as again:
        admin, raiser = Phone(emulator, again, ADMIN_ID), Phone(emulator, again, 1002)
        admin.seen, raiser.seen = len(admin.messages), len(raiser.messages)
        await admin.press("Answer", message=await admin.wait_for(f"New concern {handle}"))
        await admin.send("It goes on Monday's agenda.")
        await raiser.wait_for("It goes on Monday's agenda.")
        await raiser.send("/concerns")
        assert f"{handle} (anonymous)" in raiser.new_text()


ADMIN_ID = 9001


async def begin_pulse(app: BotApp, phone: Phone, ratings: tuple[str, ...]) -> None:
    """The trust pulse as a check-in opens it, answered up to `len(ratings)` questions."""
    await begin_flow(app, phone, "trust_pulse")
    for value in ratings:
        await phone.send(value)


async def test_keys_rotate_reseals_what_is_still_on_its_way(
    admin: Phone,
    emulator: BotAPIEmulator,
    app: BotApp,
    cli_env: Settings,
    clock: ManualClock,
    db: Database,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ballot not yet released, a pulse half answered (its answers sealed on the run) and an
    anonymous raiser about to reply when the key is rotated: all carry on with the new key."""
    settings = cli_env
    raiser, voter, halfway = (
        Phone(emulator, app, user_id=user, first_name=name)
        for user, name in ((1002, "Fatou"), (1003, "Ines"), (1004, "Jomo"))
    )
    for phone in (raiser, voter, halfway):
        await onboard(phone)
    said = await raise_concern(
        raiser,
        category="Trust",
        about="The municipality",
        urgency="Urgent",
        text="Meetings move without notice.",
        identity="Stay anonymous",
    )
    handle = said.split("ticket ")[1].split(" ")[0].rstrip(";")
    await admin.press("Answer", message=await admin.wait_for(f"New concern {handle}"))
    await admin.send("Which meetings?")
    await raiser.press("Reply", message=await raiser.wait_for("Which meetings?"))
    await begin_pulse(app, voter, ("5", "4", "3", "2", "1", "2"))
    await voter.press("Skip")
    await voter.wait_for("See you next week")
    await begin_pulse(app, halfway, ("1", "1", "1"))
    await app.stop()

    assert settings.anonymity_key is not None
    (tmp_path / "old.key").write_text(settings.anonymity_key.get_secret_value())
    new_key_file = tmp_path_factory.mktemp("keys") / "new.key"
    monkeypatch.delenv("ANONYMITY_KEY")
    assert await cli("keys", "new", str(new_key_file)) == 0
    monkeypatch.setenv("ANONYMITY_KEY_FILE", str(new_key_file))
    assert await cli("keys", "rotate", "--old-key-file", str(tmp_path / "old.key")) == 0

    rotated = settings.model_copy(update={"anonymity_key": SecretStr(new_key_file.read_text())})
    async with running_app(rotated, clock) as again:
        admin, raiser, halfway = (
            Phone(emulator, again, p.user_id) for p in (admin, raiser, halfway)
        )
        admin.seen, raiser.seen, halfway.seen = (len(p.messages) for p in (admin, raiser, halfway))
        await raiser.send("The ward meetings.")
        await admin.wait_for("The ward meetings.")
        for value in ("2", "2", "2"):
            await halfway.send(value)
        await halfway.press("Skip")
        await halfway.wait_for("See you next week")
        assert await release_ballots(again) == 14  # six ratings and a skipped comment each
        async with again.session_factory() as session:
            ratings = (
                await session.exec(
                    select(Answer.value_number).where(col(Answer.flow_id) == "trust_pulse")
                )
            ).all()
        assert sorted(r for r in ratings if r is not None) == sorted(
            [5, 4, 3, 2, 1, 2, 1, 1, 1, 2, 2, 2]
        )
