"""/champions' host, `bot.services.champion_host.ChampionsHost`, registered."""

from __future__ import annotations

from bot.services.champion_host import ChampionsHost
from bot.services.guides import host

host("champions")(ChampionsHost)
