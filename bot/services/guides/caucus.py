"""/caucus's host, `bot.services.caucus.CaucusHost`, registered."""

from __future__ import annotations

from bot.services.caucus import CaucusHost
from bot.services.guides import host

host("caucus")(CaucusHost)
