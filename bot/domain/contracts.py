"""What the code reads from flows by name: one table, checked whenever flows load.

A feature that reads a flow's answers by their names declares it here, so renaming a node, an
option or a flow's hand-over fails `partnerbot flows check` (naming the file and node) instead of
the feature at run time. A need applies when its flow is there: leaving a flow out turns its
feature off (the bot only insists on `onboarding`, see `bot.services.conversations`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain import caucus, commitments, concerns, invites, objectives, reports
from bot.domain.flows import AskKind, AskNode, Flow, FlowProblem, FlowRegistry, ProfileField

# Finishers: the code a flow's answers are handed over to when it ends (`finisher:` in a flow).
CONCERNS_FINISHER = "concerns"  # the answers become a ticket (bot/services/concerns.py)
TIME_ZONE_FINISHER = "timezone"  # the zone just set is confirmed (bot/services/conversations.py)
TIME_ZONE_ANSWER = "zone"
CAUCUS_FINISHER = caucus.FINISHER  # the answers join a caucus round (bot/services/caucus.py)


@dataclass(frozen=True)
class Asks:
    """A question read by its answer name; its option values must be ones the code knows
    (`values`), or ones the question `values_of` offers; the code words each value with the
    key `wording` names (`{value}`: the value), whatever the option's own label."""

    key: str
    kinds: tuple[AskKind, ...]
    values: tuple[str, ...] | None = None
    values_of: str | None = None
    wording: str | None = None


@dataclass(frozen=True)
class Sets:
    """A question that sets this profile field."""

    field: ProfileField


@dataclass(frozen=True)
class RatesGroups:
    """At least `at_least` scale questions named after the stakeholder groups."""

    at_least: int


@dataclass(frozen=True)
class Worded:
    """Every `kind` question (at least one) has wording under `template` (`{key}`: its name)."""

    kind: AskKind
    template: str


Rule = Asks | Sets | RatesGroups | Worded


@dataclass(frozen=True)
class Need:
    """What one feature reads from a flow (by id), or from every flow handed to a finisher."""

    feature: str
    rules: tuple[Rule, ...]
    flow: str | None = None
    finisher: str | None = None


NEEDS = (
    Need(
        "tickets: a finished concern becomes a ticket (bot/domain/concerns.py)",
        finisher=CONCERNS_FINISHER,
        rules=(
            Asks("category", ("choice",), concerns.CATEGORIES, wording="concern.category.{value}"),
            Asks("about", ("choice",), concerns.ABOUT, wording="concern.about.{value}"),
            Asks("urgency", ("choice",), concerns.URGENCIES, wording="concern.urgency.{value}"),
            Asks("text", ("text",)),
            Asks("identity", ("choice",), values=concerns.IDENTITIES),
        ),
    ),
    Need(
        "/timezone confirms the zone chosen (bot/services/conversations.py)",
        finisher=TIME_ZONE_FINISHER,
        rules=(Asks(TIME_ZONE_ANSWER, ("time_zone",)),),
    ),
    Need(
        "caucus rounds: a group's own issues and opportunities (bot/domain/caucus.py)",
        finisher=CAUCUS_FINISHER,
        rules=(
            Asks(caucus.KIND, ("choice",), caucus.KINDS, wording="caucus.kind.{value}"),
            Asks(caucus.TEXT, ("text",)),
            Asks(caucus.PRIORITY, ("scale",)),
            Asks(caucus.QUOTE, ("yes_no",)),
        ),
    ),
    Need(
        "audiences and reports by stakeholder group (FlowRegistry.options_for)",
        flow="onboarding",
        rules=(Sets("stakeholder_group"),),
    ),
    Need(
        "an invitation link's committee seat, taken by answering yes (bot/services/invites.py)",
        flow="onboarding",
        rules=(Asks(invites.COMMITTEE_SEAT, ("yes_no",)),),
    ),
    Need(
        "trust reports, the trust matrix and voice digests (bot/domain/reports.py)",
        flow=reports.TRUST_FLOW,
        rules=(RatesGroups(at_least=2),),
    ),
    Need(
        "the role map report (bot/domain/reports.py)",
        flow=reports.ROLES_FLOW,
        rules=(
            Asks(reports.ROLES_QUESTION, ("multi_choice",), wording="roles.brings.{value}"),
            Asks(reports.ROLES_LEAD_QUESTION, ("multi_choice",), values_of=reports.ROLES_QUESTION),
        ),
    ),
    Need(
        "a partner's objective recorded, for /objectives and the alignment matrix "
        "(bot/services/objectives.py)",
        finisher=objectives.OBJECTIVES_FINISHER,
        rules=(
            Asks(
                objectives.CATEGORY,
                ("choice",),
                objectives.CATEGORIES,
                wording="report.objective.{value}",
            ),
            *(
                Asks(name, ("text",))
                for name in (
                    objectives.STATEMENT,
                    objectives.INDICATOR,
                    objectives.BASELINE,
                    objectives.TARGET,
                )
            ),
            Asks(objectives.NEEDS, ("multi_choice",), wording="roles.brings.{value}"),
        ),
    ),
    Need(
        "progress on one objective, for the progress report (bot/services/objectives.py)",
        finisher=objectives.PROGRESS_FINISHER,
        rules=(Asks(objectives.RATING, ("scale",)),),
    ),
    Need(
        "a commitment's delivery check-in (bot/services/commitment_checkins.py)",
        finisher=commitments.CHECKIN_FINISHER,
        rules=(
            Asks("status", ("choice",), commitments.DELIVERY_STATES),
            Asks("note", ("text",)),
        ),
    ),
    Need(
        "a commitment's anonymous rating (bot/services/commitment_checkins.py)",
        finisher=commitments.RATING_FINISHER,
        rules=(Asks("delivery", ("scale",)), Asks("spirit", ("scale",))),
    ),
)


def check_needs(
    flows: Mapping[str, Flow],
    locale_keys: Mapping[str, set[str]],
    needs: tuple[Need, ...] = NEEDS,
) -> list[FlowProblem]:
    """Every need of `needs` the loaded flows break, with the file, flow and node."""
    problems: list[FlowProblem] = []
    finishers = sorted({n.finisher for n in needs if n.finisher})
    groups = set(FlowRegistry(flows=flows).options_for("stakeholder_group"))
    for flow in flows.values():
        if flow.finisher is not None and flow.finisher not in finishers:
            msg = f"unknown finisher '{flow.finisher}'; known: {', '.join(finishers)}"
            problems.append(FlowProblem(flow.source, msg, flow.id))
        for need in needs:
            if not _applies(need, flow):
                continue
            for rule in need.rules:
                for node, message in _broken(rule, flow, groups, locale_keys):
                    problems.append(
                        FlowProblem(flow.source, f"{message}, for {need.feature}", flow.id, node)
                    )
    return problems


def needed_keys(flows: Mapping[str, Flow], needs: tuple[Need, ...] = NEEDS) -> set[str]:
    """The locale keys the code words flows' questions and options with."""
    return {
        key
        for flow in flows.values()
        for need in needs
        if _applies(need, flow)
        for rule in need.rules
        for _, key in _worded(rule, flow)
    }


def _worded(rule: Rule, flow: Flow) -> list[tuple[str, str]]:
    """The keys the code words a flow with under `rule`, with the node each belongs to."""
    found: list[tuple[str, str]] = []
    for node in flow.nodes.values():
        if isinstance(node, AskNode) and isinstance(rule, Worded) and node.ask == rule.kind:
            found.append((node.id, rule.template.format(key=node.key)))
        if isinstance(node, AskNode) and isinstance(rule, Asks) and node.key == rule.key:
            wording = rule.wording
            found += [(node.id, wording.format(value=o.value)) for o in node.options if wording]
    return found


def _applies(need: Need, flow: Flow) -> bool:
    return flow.id == need.flow or (need.finisher is not None and flow.finisher == need.finisher)


def _broken(
    rule: Rule, flow: Flow, groups: set[str], locale_keys: Mapping[str, set[str]]
) -> list[tuple[str | None, str]]:
    """(node id or None, what is wrong) for each way `flow` breaks `rule`."""
    asks = {n.key: n for n in flow.nodes.values() if isinstance(n, AskNode)}
    if isinstance(rule, Asks):
        node = asks.get(rule.key)
        kinds = " or ".join(rule.kinds)
        if node is None:
            return [(None, f"needs a {kinds} question saved as '{rule.key}'")]
        if node.ask not in rule.kinds:
            return [(node.id, f"answer '{rule.key}' must come from a {kinds} question")]
        known = rule.values
        if rule.values_of is not None:
            source = asks.get(rule.values_of)
            known = tuple(o.value for o in source.options) if source is not None else ()
        unknown = [o.value for o in node.options if known is not None and o.value not in known]
        if unknown:
            return [(node.id, f"options {unknown} are not among {list(known or ())}")]
        return _unworded(rule, flow, locale_keys)
    if isinstance(rule, Sets):
        if any(n.sets == rule.field for n in asks.values()):
            return []
        return [(None, f"needs a question that sets `{rule.field}`")]
    if isinstance(rule, RatesGroups):
        if not groups:
            return []  # no stakeholder groups loaded: the onboarding need reports it
        rated = [n for key, n in asks.items() if key in groups]
        found: list[tuple[str | None, str]] = [
            (n.id, "a stakeholder group's rating must be a scale")
            for n in rated
            if n.ask != "scale"
        ]
        if sum(n.ask == "scale" for n in rated) < rule.at_least:
            msg = f"needs scale questions named after at least {rule.at_least} stakeholder groups"
            found.append((None, f"{msg} ({', '.join(sorted(groups))})"))
        return found
    if not any(n.ask == rule.kind for n in asks.values()):
        return [(None, f"needs at least one {rule.kind} question")]
    return _unworded(rule, flow, locale_keys)


def _unworded(
    rule: Rule, flow: Flow, locale_keys: Mapping[str, set[str]]
) -> list[tuple[str | None, str]]:
    """The keys the code words `flow` with that a locale lacks, at their node."""
    return [
        (node_id, f"keys missing in locale '{locale}': {key}")
        for node_id, key in _worded(rule, flow)
        for locale, keys in sorted(locale_keys.items())
        if key not in keys
    ]
