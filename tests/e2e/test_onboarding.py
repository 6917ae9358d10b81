"""Onboarding and roles, end to end: a member's phone against the real bot and database."""

from __future__ import annotations

from conftest import Phone


async def test_onboarding_by_buttons(phone: Phone) -> None:
    await phone.send("/start")
    shown = phone.new_text()
    assert "Hello Amina" in shown
    assert "Do you agree?" in shown
    assert [b for b, _ in phone.last.buttons] == ["Yes", "No"]

    await phone.press("Yes")
    assert "Which language" in phone.new_text()
    await phone.press("English")
    assert "Which group" in phone.new_text()
    await phone.press("Municipality")
    assert "name of your organisation" in phone.new_text()
    await phone.send("City of Thiès")
    assert "What is your role" in phone.new_text()
    await phone.send("Ward councillor")
    assert "roles and responsibilities" in phone.new_text()
    await phone.press("No")
    assert "Send /roles" in phone.new_text()
