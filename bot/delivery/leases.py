"""Who holds an outbox lease: the instance's name and a token of this run of it.

A lease names its holder so that an instance started again after a crash takes back at once
the rows its previous run held (`bot.storage.outbox.take_back`) instead of leaving them to
their leases; rows of an instance that does not come back return when their leases end.
"""

from __future__ import annotations

import secrets
import socket

from bot.config import Settings


def instance_name(settings: Settings) -> str:
    """INSTANCE_NAME, else the host's name and the webhook port (unique per host and port)."""
    return settings.instance_name or f"{socket.gethostname()}:{settings.webhook_port}"


def lease_owner(settings: Settings) -> str:
    """The holder written on this run's leases: "<instance>/<run>"."""
    return f"{instance_name(settings)}/{secrets.token_hex(4)}"
