"""The guided commands' hosts, one module each, and `build_guides`, which serves every step
machine registered in `bot.domain.guides` (`@guided`) with the host it names.

A host does a machine's I/O: `facts` its steps read and the `effects` they ask for. It
registers under a name with `@host(name)`; its constructor's parameters name the services it
takes (`clock`, `catalogs`, `broadcasts`, ...), handed over by name. A machine whose host needs a
service this bot runs without (concerns, in some tests) is left out.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import TypeVar

import bot.domain.guides as machines
from bot.domain.clock import Clock
from bot.domain.guided import MACHINES, Registered
from bot.services.guided import Guide, Guides, Host, NoHost
from bot.services.registries import import_package

MOMENT = "%Y-%m-%d %H:%M"
HOSTS: dict[str, type[Host]] = {}
H = TypeVar("H", bound=type[Host])


def host(name: str) -> Callable[[H], H]:
    """Register a host class under `name`, the one machines give to `@guided(host=...)`."""

    def register(cls: H) -> H:
        HOSTS[name] = cls
        return cls

    return register


def registered() -> list[Registered]:
    """Every step machine of `bot.domain.guides`, each module imported so it registers."""
    import_package(machines)
    return list(MACHINES.values())


def hosts() -> dict[str, type[Host]]:
    """Every host of this package, by name, each module imported so it registers."""
    import_package(sys.modules[__name__])
    return HOSTS


def build_guides(*, clock: Clock, **services: object) -> Guides:
    """Every registered guided command with its host."""
    known = hosts()
    available: dict[str, object] = {"clock": clock, **services}
    made: dict[str, Host | None] = {}
    guides = []
    for found in registered():
        name = found.host
        if name not in made:
            if name and name not in known:
                raise LookupError(f"{found.machine.kind!r} names the host {name!r}: none has it")
            made[name] = _build(known[name], available) if name else NoHost()
        served = made[name]
        if served is not None:
            guides.append(Guide(found.machine, served, lapse=found.lapse))
    return Guides(guides, clock=clock)


def _build(cls: type[Host], available: dict[str, object]) -> Host | None:
    """The host, given the services its constructor names; None if one it requires is not
    running (one with a default may be missing)."""
    given: dict[str, object] = {}
    for name, parameter in inspect.signature(cls).parameters.items():
        if available.get(name) is not None:
            given[name] = available[name]
        elif parameter.default is inspect.Parameter.empty:
            return None
    return cls(**given)
