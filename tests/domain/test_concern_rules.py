"""Concern rules: the ticket lifecycle, handles, routing, and every wording key they need."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain import concerns as rules
from bot.domain.concerns import CommitteeView, Concern, ConcernError
from bot.i18n import Catalogs

ROOT = Path(__file__).resolve().parents[2]
OWN_KEY = re.compile(r"^(concern|ticket|committee)\.[a-z0-9_.]*[a-z0-9_]$")


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("received", "discussed", True),
        ("received", "agreed", True),
        ("received", "done", True),
        ("received", "declined", True),
        ("discussed", "agreed", True),
        ("agreed", "done", True),
        ("agreed", "declined", True),
        ("discussed", "received", False),
        ("agreed", "discussed", False),
        ("discussed", "discussed", False),
        ("done", "declined", False),
        ("declined", "done", False),
        ("done", "done", False),
        ("received", "reopened", False),
    ],
)
def test_tickets_move_forward_only(current: str, target: str, allowed: bool) -> None:
    assert rules.can_move(current, target) is allowed


@pytest.mark.parametrize(
    ("current", "target", "reason", "code"),
    [
        ("done", "declined", "late", "closed"),
        ("agreed", "discussed", None, "backwards"),
        ("received", "declined", None, "reason_needed"),
        ("received", "declined", "   ", "reason_needed"),
    ],
)
def test_a_refused_step_says_why(current: str, target: str, reason: str | None, code: str) -> None:
    with pytest.raises(ConcernError) as caught:
        rules.check_move(current, target, reason)
    assert caught.value.code == code


def test_declining_with_a_reason_is_allowed() -> None:
    rules.check_move("discussed", "declined", "Out of the partnership's remit")


@pytest.mark.parametrize("number", [0, 1, 31, 2**40 - 1, 123456789])
def test_handles_are_short_and_readable(number: int) -> None:
    handle = rules.handle_from(number)
    assert re.fullmatch(r"C-[2-9A-HJKMNP-Z]{6}", handle)
    assert rules.normalise_handle(handle.lower().replace("-", " ")) == handle
    assert rules.normalise_handle(handle[2:]) == handle


def test_different_numbers_give_different_handles() -> None:
    assert len({rules.handle_from(n) for n in range(2000)}) == 2000


def test_routing_goes_to_the_first_active_committee() -> None:
    assert rules.route([]) is None
    assert rules.route([CommitteeView(5), CommitteeView(2)]) == 2
    assert rules.route([CommitteeView(2, archived=True), CommitteeView(5)]) == 5
    assert rules.route([CommitteeView(2, archived=True)]) is None


def test_routing_goes_to_the_committee_owning_the_category() -> None:
    steering = CommitteeView(1)
    trust = CommitteeView(3, categories=frozenset({"trust", "roles"}))
    assert rules.route([trust, steering], "trust") == 3
    assert rules.route([trust, steering], "resources") == 1  # nobody owns it: the fallback
    assert rules.route([trust, steering]) == 1
    archived = CommitteeView(3, archived=True, categories=frozenset({"trust"}))
    assert rules.route([archived, steering], "trust") == 1


def test_declared_categories_are_checked_and_ordered() -> None:
    assert rules.check_categories(["trust", "roles"]) == ("roles", "trust")
    with pytest.raises(ConcernError) as raised:
        rules.check_categories(["trust", "weather"])
    assert raised.value.code == "category"


def test_only_urgent_tickets_escalate_and_only_once_due() -> None:
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    after = timedelta(hours=48)
    due = start + after
    assert rules.overdue(urgency="high", created_at=start, now=due, after=after)
    early = due - timedelta(seconds=1)
    assert not rules.overdue(urgency="high", created_at=start, now=early, after=after)
    assert not rules.overdue(urgency="medium", created_at=start, now=due, after=after)


def test_a_concern_from_the_flows_answers() -> None:
    answers = {
        "category": "trust",
        "about": "partnership",
        "urgency": "high",
        "text": "  Meetings move without notice. ",
        "identity": "anonymous",
    }
    concern = Concern.from_answers(answers)
    assert concern == Concern("trust", "partnership", "high", "Meetings move without notice.", True)
    assert not Concern.from_answers({**answers, "identity": "named"}).anonymous
    for key, bad in (("category", "weather"), ("text", " "), ("identity", None)):
        with pytest.raises(ConcernError):
            Concern.from_answers({**answers, key: bad})


def test_the_flow_offers_exactly_the_domains_choices() -> None:
    from bot.content import load_flows
    from bot.domain.flows import AskNode

    catalogs = Catalogs.load(ROOT / "locales", default="en")
    flow = load_flows(ROOT / "flows", locale_keys=catalogs.keys())["concerns"]
    offered = {
        node.key: tuple(o.value for o in node.options)
        for node in flow.nodes.values()
        if isinstance(node, AskNode) and node.ask == "choice"
    }
    assert offered == {
        "category": rules.CATEGORIES,
        "about": rules.ABOUT,
        "urgency": rules.URGENCIES,
        "identity": rules.IDENTITIES,
    }


def _own_keys() -> set[str]:
    """Literal concern/ticket/committee keys in the code, and those built from parts."""
    keys: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # A mapping's keys name columns ("ticket.member_id" in /mydata's table), not wording.
        columns = {id(k) for d in ast.walk(tree) if isinstance(d, ast.Dict) for k in d.keys if k}
        for node in ast.walk(tree):
            # "ticket.id" and "committee.id" are foreign keys, not wording.
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in columns
                and OWN_KEY.match(node.value)
                and not node.value.endswith(".id")
            ):
                keys.add(node.value)
    keys |= {f"ticket.status.{s}" for s in rules.STATUSES}
    keys |= {f"ticket.to_raiser.{s}" for s in rules.STATUSES if s != rules.RECEIVED}
    keys |= {f"ticket.button.{s}" for s in ("discussed", "agreed", "done")}
    keys |= {f"ticket.error.{c}" for c in ("closed", "backwards", "reason_needed")}
    keys |= {f"concern.category.{c}" for c in rules.CATEGORIES}
    keys |= {f"concern.about.{c}" for c in rules.ABOUT}
    keys |= {f"concern.urgency.{c}" for c in rules.URGENCIES}
    codes = ("usage", "name", "exists", "unknown", "not_seated", "unknown_member", "category")
    keys |= {f"committee.error.{c}" for c in codes}
    return keys


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_every_concern_key_has_wording(locale: str) -> None:
    catalogs = Catalogs.load(ROOT / "locales", default="en")
    assert sorted(_own_keys() - catalogs.keys()[locale]) == []
