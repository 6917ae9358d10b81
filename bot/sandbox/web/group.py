"""The committee group beside the phones: seeded at the sandbox's first start (a forum whose
members are the personas, the coordinator its creator, the bot an administrator), shown with
its topics, and used by the personas: posting (commands too) and voting in the bot's polls.

Who voted for what is shown for named polls only, as members see it in Telegram, and marked
when the bot received it as a `poll_answer` update (only a bot that asks for them does); of an
anonymous poll Telegram gives the bot, and the members, the totals alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiohttp import web

from bot.sandbox.emulator import BotAPIEmulator
from bot.sandbox.web.base import (
    Event,
    Persona,
    Route,
    WebError,
    introduce,
    read_body,
    whole,
)
from bot.sandbox.web.render import person_view

GROUP_TITLE = "Steering committee"
_RANK = {"creator": 0, "administrator": 1, "member": 2}


def seed_committee_group(emulator: BotAPIEmulator, personas: Iterable[Persona]) -> int:
    """A forum supergroup of the personas, the coordinator its creator and the bot an
    administrator (its joining reaches the bot as Telegram sends it); its chat id."""
    people = list(personas)
    for persona in people:
        introduce(emulator, persona)
    coordinator = next((p for p in people if p.admin), people[0])
    chat_id = emulator.create_group(
        GROUP_TITLE,
        creator=coordinator.user_id,
        supergroup=True,
        forum=True,
        members=[p.user_id for p in people if p is not coordinator],
    )
    emulator.set_bot_status(chat_id, "administrator", by=coordinator.user_id)
    return chat_id


class GroupPanel:
    """The groups the page shows, named polls' voters, and the routes of posting and voting."""

    def __init__(
        self,
        emulator: BotAPIEmulator,
        personas: Mapping[int, Persona],
        show: Callable[[int, Event], None],
        ready: Callable[[], object],
    ) -> None:
        self.emulator = emulator
        self.personas = personas
        self.chat_ids: list[int] = []
        # poll id -> voter's user id (text: a JSON key) -> name, choice and, once the bot
        # received it, the poll_answer update's id
        self.voters: dict[str, dict[str, Event]] = {}
        self._show = show
        self._ready = ready
        self._shown: dict[int, Event] = {}

    def add(self, chat_id: int) -> None:
        """Show this group on the page."""
        if chat_id not in self.chat_ids:
            self.chat_ids.append(chat_id)

    def infos(self) -> list[Event]:
        """Every shown group as the page draws its panel."""
        infos = (self._info(chat_id) for chat_id in self.chat_ids)
        return [info for info in infos if info is not None]

    def changed(self, chat_id: int) -> Event | None:
        """The group's info if it changed since last told (a topic opened, the bot left)."""
        if chat_id not in self.chat_ids:
            return None
        info = self._info(chat_id)
        if info is None or info == self._shown.get(chat_id):
            return None
        self._shown[chat_id] = info
        return info

    def answered(self, update: Mapping[str, Any]) -> str:
        """Note that the bot receives a named vote (poll_answer); the poll's id."""
        answer = update["poll_answer"]
        poll_id, user = str(answer["poll_id"]), answer.get("user") or {}
        voter = self.voters.get(poll_id, {}).get(str(user.get("id")))
        if voter is not None:
            voter["update_id"] = update.get("update_id")
        return poll_id

    def _voted(self, poll_id: str, persona: Persona, option_ids: list[int]) -> None:
        voters = self.voters.setdefault(poll_id, {})
        if option_ids:
            voters[str(persona.user_id)] = {
                "name": persona.first_name,
                "option_ids": option_ids,
                "update_id": None,
            }
        else:  # the vote was taken back
            voters.pop(str(persona.user_id), None)

    def with_voters(self, entry: Event) -> Event:
        """A bot message's view with its named poll's voters, if it is one."""
        poll = entry.get("poll")
        if poll is not None and not poll["is_anonymous"]:
            entry["voters"] = list(self.voters.get(str(poll["id"]), {}).values())
        return entry

    def saved(self) -> Event:
        """The shown groups and named polls' voters, JSON-ready (see restore)."""
        return {"chat_ids": list(self.chat_ids), "voters": self.voters}

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Show again what saved() held."""
        for chat_id in saved.get("chat_ids", []):
            self.add(int(chat_id))
        for poll_id, voters in saved.get("voters", {}).items():
            self.voters[str(poll_id)] = dict(voters)

    def routes(self) -> list[Route]:
        """Posting in a group and voting in a poll, as a persona."""
        return [
            ("POST", "/groups/{chat_id}/posts", self._post),
            ("POST", "/polls/{poll_id}/votes", self._vote),
        ]

    # ----------------------------------------------------------------- internals

    def _info(self, chat_id: int) -> Event | None:
        try:
            info = self.emulator.group_info(chat_id)
        except ValueError:  # upgraded to a supergroup, or gone with an older state file
            return None
        members = [
            {"user_id": int(user_id), "name": self._name(int(user_id)), "status": status}
            for user_id, status in info["members"].items()
        ]
        # the owner, the admins, then everyone by name, as Telegram lists them
        members.sort(key=lambda m: (_RANK.get(m["status"], len(_RANK)), m["name"], m["user_id"]))
        info["members"] = members
        return info

    def _name(self, user_id: int) -> str:
        persona = self.personas.get(user_id)
        return persona.first_name if persona is not None else f"User {user_id}"

    def _voter(self, body: Mapping[str, Any]) -> Persona:
        persona = self.personas.get(whole(body.get("user_id"), "user_id"))
        if persona is None:
            raise WebError(404, "no persona with that user id")
        self._ready()
        introduce(self.emulator, persona)
        return persona

    async def _post(self, request: web.Request) -> web.StreamResponse:
        chat_id = whole(request.match_info["chat_id"], "the chat id")
        body = await read_body(request)
        persona = self._voter(body)
        text = str(body.get("text") or "").strip()
        if not text:
            raise WebError(400, "type something to send")
        thread = body.get("thread_id")
        try:
            posted = self.emulator.post_in_group(
                chat_id,
                persona.user_id,
                text,
                thread_id=None if thread in (None, "") else whole(thread, "the topic"),
            )
        except ValueError as exc:  # not in the group, a closed topic...
            raise WebError(400, str(exc)) from None
        if posted.update_id is None:  # privacy mode keeps it from the bot: no update shows it
            entry = person_view(posted.message, None)
            if entry is not None:
                self._show(chat_id, entry)
        return web.json_response(posted.to_dict())

    async def _vote(self, request: web.Request) -> web.StreamResponse:
        body = await read_body(request)
        persona = self._voter(body)
        option_ids = body.get("option_ids")
        if not isinstance(option_ids, list):
            raise WebError(400, "a vote needs option_ids (a list; empty takes it back)")
        chosen = [whole(i, "an option id") for i in option_ids]
        poll_id = request.match_info["poll_id"]
        try:
            update_ids = self.emulator.vote(persona.user_id, poll_id, chosen)
        except ValueError as exc:  # a closed poll, someone outside the group...
            raise WebError(400, str(exc)) from None
        # before the page hears of the new totals (the emulator's events wait for this turn)
        self._voted(poll_id, persona, chosen)
        return web.json_response({"update_ids": update_ids})
