"""Content from disk: the flows (`flows/*.yaml`) and the wording (`locales/`), read here and
checked against each other and against what the code reads from them (bot/domain/contracts.py).

The domain parses and checks; reading files is this module's job, so the domain does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import yaml

from bot.config import Settings
from bot.domain.contracts import check_needs, needed_keys
from bot.domain.flows import FlowError, FlowProblem, FlowRegistry, parse_flows, read_flows
from bot.domain.transcripts import MemberSpeech, TranscriptFile, parse_transcripts, run_case
from bot.i18n import Catalogs, add_missing_keys

TESTS = "tests"  # flows/tests/<flow>.yaml: golden transcripts of each flow


def read_documents(directory: Path) -> list[tuple[str, str]]:
    """Every `*.yaml` flow file in `directory` (not its `tests/`): its path and its text."""
    if not directory.is_dir():
        raise FlowError([FlowProblem(str(directory), "flows directory not found")])
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    return [(str(path), path.read_text(encoding="utf-8")) for path in files]


def load_flows(directory: Path, *, locale_keys: Mapping[str, set[str]]) -> FlowRegistry:
    """Load and check every flow in `directory`; raise FlowError listing all problems."""
    documents = read_documents(directory)
    return read_flows(documents, locale_keys=locale_keys, checks=(check_needs,))


def add_flow_keys(flows_dir: Path, locales_dir: Path, *, default: str) -> dict[str, list[str]]:
    """Write the keys the flows (and the code's wording of them) use but a catalog lacks into
    that catalog, as fuzzy placeholders; the keys added, by locale. Raises FlowError when a
    flow is broken in itself (its keys cannot be known then)."""
    flows, problems = parse_flows(read_documents(flows_dir))
    if problems:
        raise FlowError(problems)
    keys = set().union(*(f.keys() for f in flows.values())) | needed_keys(flows)
    return add_missing_keys(locales_dir, keys, default=default)


def load_content(settings: Settings) -> tuple[Catalogs, FlowRegistry]:
    """Wording and flows, checked against each other; raises FlowError naming what is wrong."""
    catalogs = Catalogs.load(settings.locales_dir, default=settings.default_locale)
    flows = load_flows(settings.flows_dir, locale_keys=catalogs.keys())
    return catalogs, flows


class Content:
    """The flows and wording in force, one holder every service reads them through: a reload
    (the sandbox's web simulator) is one `swap` here, seen by all at once."""

    def __init__(self, catalogs: Catalogs, flows: FlowRegistry) -> None:
        self.catalogs = catalogs
        self.flows = flows
        self._followers: list[Callable[[Content], None]] = []

    @classmethod
    def load(cls, settings: Settings) -> Content:
        """The content the settings point at; raises FlowError naming what is wrong."""
        return cls(*load_content(settings))

    @property
    def locales(self) -> tuple[str, ...]:
        return self.catalogs.locales

    @property
    def default_locale(self) -> str:
        return self.catalogs.default

    @property
    def groups(self) -> tuple[str, ...]:
        """The stakeholder groups members choose among (the flows' `stakeholder_group`)."""
        return self.flows.options_for("stakeholder_group")

    def follow(self, follower: Callable[[Content], None]) -> None:
        """Call `follower` after every swap: for what keeps work derived from the content."""
        self._followers.append(follower)

    def swap(self, other: Content) -> None:
        """Take another load's flows and wording."""
        # Handlers, middlewares and the broadcast monitor hold this Catalogs object itself:
        # updating it in place hands all of them the new wording at once.
        self.catalogs.replace_with(other.catalogs)
        self.flows = other.flows
        for follower in self._followers:
            follower(self)


def load_transcripts(flows_dir: Path) -> list[tuple[str, TranscriptFile]]:
    """Every `flows/tests/*.yaml` transcript file, with its path; ValueError when one is not
    valid YAML or not in the format (flows/README.md)."""
    found = []
    for path in sorted((flows_dir / TESTS).glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
        found.append((str(path), parse_transcripts(data, source=str(path))))
    return found


def run_transcripts(
    flows: FlowRegistry, files: list[tuple[str, TranscriptFile]], catalogs: Catalogs
) -> dict[str, list[str]]:
    """Each case (`file: name`) and how the flow differs from it (nothing: it holds)."""
    speech = MemberSpeech(
        label_for=catalogs.translator, words=catalogs.words, decimal_mark_for=catalogs.decimal_mark
    )
    results: dict[str, list[str]] = {}
    for source, transcripts in files:
        flow = flows.get(transcripts.flow)
        for case in transcripts.cases:
            where = f"{source}: {case.name}"
            if flow is None:
                results[where] = [f"no flow '{transcripts.flow}' in the flows directory"]
            else:
                results[where] = run_case(flow, case, speech)
    return results
