"""The container's health check: exit 0 when /healthz answers 200 on a configured port.

Reads WEBHOOK_PORT and OPS_PORT (the ports `partnerbot run` serves /healthz on, in webhook and
polling mode) from the environment; imports nothing heavier than urllib, since it runs every
few seconds.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping

DEFAULT_PORT = "8080"
TIMEOUT_S = 4.0


def ports(environ: Mapping[str, str]) -> list[str]:
    """The ports to ask, in order: WEBHOOK_PORT, then OPS_PORT (8080 if neither is set)."""
    found = [environ.get(name, "").strip() for name in ("WEBHOOK_PORT", "OPS_PORT")]
    return list(dict.fromkeys(port for port in found if port)) or [DEFAULT_PORT]


def healthy(port: str, host: str = "127.0.0.1") -> bool:
    """Whether /healthz on host:port answers 200."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=TIMEOUT_S) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def main() -> int:
    """0 if any configured port reports healthy, else 1 (Docker's HEALTHCHECK convention)."""
    return 0 if any(healthy(port) for port in ports(os.environ)) else 1


if __name__ == "__main__":
    sys.exit(main())
