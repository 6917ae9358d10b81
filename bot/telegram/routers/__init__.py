"""Routers, one per module; `get_routers` fixes their order in one place."""

from __future__ import annotations

from aiogram import Router

from bot.telegram.filters import CommandOrTypedInput
from bot.telegram.routers import (
    audit,
    brief,
    broadcast,
    caucus,
    commands,
    commitments,
    committees,
    concerns,
    conversation,
    data_rights,
    decisions,
    errors,
    export,
    groups,
    guided,
    invites,
    language,
    membership,
    objectives,
    proxy,
    report,
    roles,
    schedules,
)


def get_routers() -> list[Router]:
    """Fresh routers, in the order the dispatcher must try them.

    Commands and guided conversations sit behind one gate: a message that is neither a command
    nor awaited by a draft (most messages: members answering their questionnaire) passes one
    filter on its way to the conversation instead of every router's.
    """
    gate = Router(name=f"{__name__}.commands_and_drafts")
    gate.message.filter(CommandOrTypedInput())
    gate.include_routers(
        language.create_router(),
        roles.create_router(),
        guided.create_router(),
        broadcast.create_router(),
        schedules.create_router(),
        data_rights.create_router(),
        export.create_router(),
        audit.create_router(),
        committees.create_router(),
        commitments.create_router(),
        invites.create_router(),
        concerns.create_router(),
        report.create_router(),
        brief.create_router(),
        objectives.create_router(),
        decisions.create_router(),
        commands.create_router(),
    )
    # Errors and my_chat_member updates have routers of their own; they go last so that
    # messages, by far the most frequent, do not pass through them.
    return [
        gate,
        caucus.create_router(),
        # A questionnaire answered for someone else, before the member's own conversation.
        proxy.create_router(),
        conversation.create_router(),
        # Committee groups: /bind, /unbind, upgrades and the bot leaving (bot.telegram.group_chats
        # already dropped all else said in groups).
        groups.create_router(),
        membership.create_router(),
        errors.create_router(),
    ]
