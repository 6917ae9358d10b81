"""Handing updates to the bot: getUpdates (long polling) or a webhook (setWebhook,
deleteWebhook, getWebhookInfo). The queue itself lives in state.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from typing import Any

import aiohttp

from bot.sandbox.emulator.params import Params, bot_api, dumps
from bot.sandbox.emulator.state import EmulatorState, Pending
from bot.sandbox.emulator.types import APIError

WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
logger = logging.getLogger(__name__)


class Updates(EmulatorState):
    """Pending updates delivered by long polling or POSTed to a webhook."""

    @bot_api("getUpdates")
    async def _get_updates(self, p: Params) -> Any:
        if self.webhook is not None:
            raise APIError(409, WEBHOOK_CONFLICT)
        offset = p.get_int("offset")
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        timeout = max(p.get_int("timeout") or 0, 0)
        self._set_allowed_updates(p)
        token = str(p.bot_id)
        generation = self._poll_generation.get(token, 0) + 1
        self._poll_generation[token] = generation
        # wakes a poller that is still waiting so that it answers 409, as Telegram does
        self._updates_signal.fire()
        if offset:
            self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._pending[:limit]
            if batch or self._closing.is_set():
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await self._updates_signal.wait(remaining)
            if self._poll_generation.get(token) != generation:
                raise APIError(409, POLL_CONFLICT)
        for item in batch:
            item.delivered = True
        return [item.update for item in batch]

    @bot_api("setWebhook")
    async def _set_webhook(self, p: Params) -> Any:
        url = p.get_str("url") or ""
        if p.get_bool("drop_pending_updates"):
            self._drop_pending()
        if not url:
            self.webhook = None
            return True
        webhook: dict[str, Any] = {"url": url}
        for name in ("secret_token", "ip_address"):
            if p.get_str(name):
                webhook[name] = p.get_str(name)
        if p.get_int("max_connections") is not None:
            webhook["max_connections"] = p.get_int("max_connections")
        allowed = p.get_json("allowed_updates", "Bad Request: can't parse allowed updates")
        if isinstance(allowed, list):
            webhook["allowed_updates"] = allowed
        self._set_allowed_updates(p)
        self.webhook = webhook
        if self._pusher is None or self._pusher.done():
            self._pusher = asyncio.create_task(self._push_updates(), name="emulator-webhook")
        self._webhook_wake.set()
        return True

    @bot_api("deleteWebhook")
    async def _delete_webhook(self, p: Params) -> Any:
        if p.get_bool("drop_pending_updates"):
            self._drop_pending()
        self.webhook = None
        return True

    @bot_api("getWebhookInfo")
    async def _get_webhook_info(self, p: Params) -> Any:
        info: dict[str, Any] = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook is not None:
            info["url"] = self.webhook["url"]
            for name in ("ip_address", "max_connections", "allowed_updates"):
                if name in self.webhook:
                    info[name] = self.webhook[name]
        return info

    async def _push_updates(self) -> None:
        """POST pending updates to the webhook as Telegram does, until the webhook is removed.

        Up to `max_connections` (40) at a time, one chat's updates one at a time and in order;
        an update is forgotten once the webhook answers 2xx, else POSTed again after
        `webhook_retry_s`. The secret token goes in X-Telegram-Bot-Api-Secret-Token.
        """
        loop = asyncio.get_running_loop()
        posting: set[asyncio.Task[None]] = set()
        busy: set[int] = set()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            try:
                while (hook := self.webhook) is not None and not self._closing.is_set():
                    self._webhook_wake.clear()
                    now = loop.time()
                    held: set[int] = set()  # chats whose earlier update is not done yet
                    next_retry = math.inf
                    for item in list(self._pending):
                        if len(posting) >= int(hook.get("max_connections") or 40):
                            break
                        chat = item.chat_id
                        if chat is not None and (chat in busy or chat in held):
                            continue
                        if item.delivered or item.retry_at > now:
                            if not item.delivered:
                                next_retry = min(next_retry, item.retry_at)
                            if chat is not None:
                                held.add(chat)
                            continue
                        item.delivered = True
                        if chat is not None:
                            busy.add(chat)
                        task = asyncio.create_task(self._post_update(http, hook, item, busy))
                        posting.add(task)
                        task.add_done_callback(posting.discard)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(min(1.0, max(0.0, next_retry - now))):
                            await self._webhook_wake.wait()
            finally:
                for task in posting:
                    task.cancel()
                await asyncio.gather(*posting, return_exceptions=True)

    async def _post_update(
        self, http: aiohttp.ClientSession, hook: dict[str, Any], item: Pending, busy: set[int]
    ) -> None:
        headers = {"Content-Type": "application/json"}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
        ok = False
        try:
            self.stats.webhook_posts += 1
            async with http.post(hook["url"], data=dumps(item.update), headers=headers) as resp:
                await resp.read()
                ok = 200 <= resp.status < 300
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            logger.info("webhook POST of update %s failed: %s", item.update_id, exc)
        finally:
            if item.chat_id is not None:
                busy.discard(item.chat_id)
            if ok:
                with contextlib.suppress(ValueError):
                    self._pending.remove(item)
                    self._forget([item])
            else:
                self.stats.webhook_failures += 1
                item.delivered = False
                item.retry_at = asyncio.get_running_loop().time() + self.webhook_retry_s
            self._webhook_wake.set()
