"""Routers, one per module; `get_routers` fixes their order in one place."""

from __future__ import annotations

from aiogram import Router

from bot.telegram.routers import (
    audit,
    broadcast,
    commands,
    committees,
    concerns,
    conversation,
    data_rights,
    errors,
    export,
    language,
    membership,
    proxy,
    report,
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
        data_rights.create_router(),
        export.create_router(),
        audit.create_router(),
        proxy.create_router(),
        committees.create_router(),
        concerns.create_router(),
        report.create_router(),
        commands.create_router(),
        conversation.create_router(),
    ]
