from __future__ import annotations
import pytest
from sqlalchemy import event
from conftest import Phone, onboard, begin_flow
from bot.app import BotApp
from bot.sandbox.emulator import BotAPIEmulator

async def test_count(emulator: BotAPIEmulator, app: BotApp, capsys) -> None:
    phone = Phone(emulator, app, user_id=5555, first_name="Zed")
    await onboard(phone, "Community member")
    await begin_flow(app, phone, "trust_pulse")
    await phone.send("4")
    stmts: list[str] = []
    def rec(conn, cursor, statement, params, context, executemany):
        stmts.append(statement.split("\n")[0][:160])
    event.listen(app.engine.sync_engine, "before_cursor_execute", rec)
    for v in ("3","2","5","4","3"):
        await phone.send(v)
    await app.sender.wait_idle()
    event.remove(app.engine.sync_engine, "before_cursor_execute", rec)
    with capsys.disabled():
        print("\nSTATEMENTS", len(stmts))
        import collections
        for s,n in collections.Counter(stmts).most_common(): print("  ", n, s[:110])
