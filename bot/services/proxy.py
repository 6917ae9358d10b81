"""Facilitator entry: a coordinator records a questionnaire for someone without a phone.

The run is the coordinator's own (so the usual conversation machinery asks the questions), but
it carries `proxy = {"group", "language"}`; its answers are stored without a member, flagged
`proxy`, `recorded_by` the coordinator and in the chosen stakeholder group
(see `Conversations._store_answer`). Every session is in the audit log: its start and its end,
each with the questionnaire and the group.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.flows import AskNode, Flow, FlowRegistry
from bot.storage import audit, repo
from bot.storage.models import FlowRun, Member

# Flows about the member's own profile or their own concerns: never answered for someone else.
NOT_BY_PROXY = frozenset({"onboarding", "concerns"})


def eligible_flows(flows: FlowRegistry) -> list[Flow]:
    """The flows a facilitator may answer for someone: none that sets a profile field, nor any
    handed to a finisher (a ticket, an objective, a rating: each acts as the member who ran it,
    here the facilitator)."""
    return [
        flow
        for flow in flows.flows.values()
        if flow.id not in NOT_BY_PROXY
        # A flow that needs answers only the code gives (a caucus round) starts from there.
        and not flow.given
        and flow.finisher is None
        and not any(isinstance(n, AskNode) and n.sets for n in flow.nodes.values())
    ]


async def running_proxy_run(session: AsyncSession, *, member: Member | None) -> FlowRun | None:
    """The member's open run if it is one recorded for someone else."""
    if member is None or member.id is None:
        return None
    run = await repo.get_running_run(session, member_id=member.id)
    return run if run is not None and run.proxy is not None else None


async def record_session(
    session: AsyncSession, *, member: Member, run: FlowRun, event: str, now: datetime
) -> None:
    """Audit a proxy session's `start`, or its end (`done`, `cancelled`, `abandoned`)."""
    proxy = run.proxy or {}
    detail = {"flow": run.flow_id, "group": proxy.get("group"), "language": proxy.get("language")}
    if event == "start":
        await audit.record(session, actor=member, action="proxy.start", detail=detail, now=now)
    else:
        detail["outcome"] = event
        await audit.record(session, actor=member, action="proxy.end", detail=detail, now=now)
