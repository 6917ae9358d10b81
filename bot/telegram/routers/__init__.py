"""Routers, one per module; `get_routers` fixes their order in one place."""

from __future__ import annotations

from aiogram import Router

from bot.telegram.routers import (
    broadcast,
    commands,
    conversation,
    errors,
    language,
    membership,
    roles,
    schedules,
)


def get_routers() -> list[Router]:
    """Fresh routers, in the order the dispatcher must try them."""
    return [
        errors.create_router(),
        membership.create_router(),
        language.create_router(),
        roles.create_router(),
        broadcast.create_router(),
        schedules.create_router(),
        commands.create_router(),
        conversation.create_router(),
    ]
