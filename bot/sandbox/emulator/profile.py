"""The bot's profile: getMe, its command menus (set/get/deleteMyCommands), its descriptions
(setMyDescription, setMyShortDescription), close and logOut."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.sandbox.emulator.params import Params, bot_api
from bot.sandbox.emulator.state import EmulatorState
from bot.sandbox.emulator.types import APIError

_BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


class Profile(EmulatorState):
    """Who the bot is and which commands it offers, per scope and language."""

    @bot_api("getMe")
    async def _get_me(self, p: Params) -> Any:
        return self._bot_user(p.bot_id)

    @bot_api("close")
    async def _close(self, p: Params) -> Any:
        return True

    @bot_api("logOut")
    async def _log_out(self, p: Params) -> Any:
        return True

    @bot_api("setMyCommands")
    async def _set_my_commands(self, p: Params) -> Any:
        commands = p.get_json("commands", "Bad Request: can't parse commands JSON object")
        if not isinstance(commands, list):
            raise APIError(400, 'Bad Request: parameter "commands" is required')
        for command in commands:
            if not isinstance(command, dict):
                raise APIError(400, "Bad Request: can't parse BotCommand JSON object")
            name = command.get("command")
            if not isinstance(name, str) or _BOT_COMMAND_RE.fullmatch(name) is None:
                raise APIError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise APIError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands = commands
        self.commands_by_scope[_commands_key(p)] = commands
        return True

    @bot_api("deleteMyCommands")
    async def _delete_my_commands(self, p: Params) -> Any:
        self.commands_by_scope.pop(_commands_key(p), None)
        return True

    @bot_api("getMyCommands")
    async def _get_my_commands(self, p: Params) -> Any:
        return self.commands_by_scope.get(_commands_key(p), [])

    @bot_api("setMyDescription")
    async def _set_my_description(self, p: Params) -> Any:
        return self._describe(p, "description", 512)

    @bot_api("setMyShortDescription")
    async def _set_my_short_description(self, p: Params) -> Any:
        return self._describe(p, "short_description", 120)

    def _describe(self, p: Params, field: str, limit: int) -> bool:
        text = p.get_str(field) or ""
        if len(text) > limit:
            raise APIError(400, f"Bad Request: {field} is too long")
        self.descriptions[(field, p.get_str("language_code") or "")] = text
        return True


def _commands_key(p: Params) -> tuple[str, str]:
    scope = p.get_json("scope", "Bad Request: can't parse BotCommandScope JSON object")
    if not isinstance(scope, dict) or scope.get("type", "default") == "default":
        scope_key = "default"
    else:
        scope_key = json.dumps(scope, sort_keys=True, separators=(",", ":"))
    return scope_key, p.get_str("language_code") or ""
