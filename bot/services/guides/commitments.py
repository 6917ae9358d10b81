"""The commitments register's guided hosts (`bot.services.commitment_guides`), registered."""

from __future__ import annotations

from bot.services.commitment_guides import CommitmentHost, VariationHost
from bot.services.guides import host

host("new_commitment")(CommitmentHost)
host("commitment_variation")(VariationHost)
