"""What is wrong with a flow file, located as precisely as possible (bot.domain.flows)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class FlowProblem:
    """One thing wrong with a flow file, located as precisely as possible."""

    file: str
    message: str
    flow: str | None = None
    node: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.flow:
            where.append(f"flow '{self.flow}'")
        if self.node:
            where.append(f"node '{self.node}'")
        return f"{', '.join(where)}: {self.message}"


class FlowError(Exception):
    """Raised when flows fail to load; lists every problem found."""

    def __init__(self, problems: Iterable[FlowProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
