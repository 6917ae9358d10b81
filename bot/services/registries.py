"""Registries filled by their modules: importing every module of a package lets each register
itself (report kinds, guided commands, their hosts)."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def import_package(package: ModuleType) -> None:
    """Import every module of `package` (once: Python keeps them)."""
    for found in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{found.name}")
