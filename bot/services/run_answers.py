"""Where a run's answers go while a conversation goes on and when it ends.

Named answers are stored as answers (a proxy run's as the person's it was answered for, with
no member); anonymous ones travel sealed in the run's memory and leave it as a ballot in
nobody's name (`bot/services/ballots.py`). A text answer with a `quote_consent` question waits
in the run's state for its author's choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.clock import Clock
from bot.domain.engine import RunState, SavedAnswer, Step
from bot.domain.flows import AskNode, Flow
from bot.services.ballots import Ballots, Row, day_of
from bot.storage import repo
from bot.storage.models import FlowRun, Member, RunStatus


class RunAnswers:
    """A run's memory opened and closed, its answers stored, its ballot cast."""

    def __init__(self, *, ballots: Ballots, clock: Clock) -> None:
        self.ballots = ballots
        self.clock = clock

    def open(self, run: FlowRun) -> tuple[RunState, list[Row]]:
        """The run's state (its sealed answers opened) and the ballot it is filling."""
        answers, ballot = self.ballots.open_memory(run.answers)
        state = RunState(
            flow_id=run.flow_id,
            flow_version=run.flow_version,
            node_id=run.node_id,
            answers=answers,
            selected=tuple(run.selected or ()),
            misses=run.misses or 0,
        )
        return state, ballot

    async def save(
        self, session: AsyncSession, run: FlowRun, flow: Flow, step: Step, ballot: list[Row]
    ) -> None:
        """Store where an open run stands: its anonymous answers and ballot sealed."""
        memory = self.ballots.close_memory(step.state.answers, anonymous_keys(flow), ballot)
        await repo.save_run_state(
            session,
            run=run,
            node_id=step.state.node_id,
            answers=memory,
            selected=step.state.selected,
            misses=step.state.misses,
            now=self.clock.now(),
        )

    async def cast(self, session: AsyncSession, run: FlowRun, ballot: list[Row]) -> None:
        if run.proxy is None:
            await self.ballots.cast(
                session, flow_id=run.flow_id, ballot=ballot, day=day_of(self.clock.now())
            )

    async def end(
        self,
        session: AsyncSession,
        run: FlowRun,
        flow: Flow | None,
        status: RunStatus,
        *,
        cast: bool = True,
    ) -> None:
        """Close a run that did not finish: the anonymous answers already given leave it as a
        ballot (none when `cast` is False); only its named answers stay on it."""
        _, ballot = self.ballots.open_memory(run.answers)
        if cast:
            await self.cast(session, run, ballot)
        anonymous = anonymous_keys(flow) if flow is not None else set()
        answers = without(self.ballots.named(run.answers), anonymous)
        await repo.end_run(session, run=run, status=status, now=self.clock.now(), answers=answers)

    async def store(
        self,
        session: AsyncSession,
        member: Member,
        run: FlowRun,
        flow: Flow,
        step: Step,
        ballot: list[Row],
    ) -> None:
        """Store the step's answers. A text answer with a `quote_consent` question waits for
        it (in the run's state) and is stored with its author's choice as `quotable`; if the
        flow ends without asking, it is stored as not quotable."""
        consents = flow.quote_consents()
        held = set(consents.values())
        for saved in step.answers:
            if saved.key in held:
                continue
            await self._store_answer(session, member, run, flow, saved, ballot)
            if saved.key in consents:
                quotable = saved.value == "yes"
                await self._store_held(
                    session, member, run, flow, step, ballot, consents[saved.key], quotable
                )
        if step.finished:
            for consent, text_key in consents.items():
                if consent not in step.state.answers:
                    await self._store_held(
                        session, member, run, flow, step, ballot, text_key, False
                    )

    async def _store_held(
        self,
        session: AsyncSession,
        member: Member,
        run: FlowRun,
        flow: Flow,
        step: Step,
        ballot: list[Row],
        key: str,
        quotable: bool,
    ) -> None:
        if key not in step.state.answers:
            return
        node = next(n for n in flow.nodes.values() if isinstance(n, AskNode) and n.key == key)
        saved = SavedAnswer(
            node_id=node.id,
            key=key,
            kind=node.ask,
            value=step.state.answers[key],
            anonymous=node.anonymous or flow.anonymous,
        )
        await self._store_answer(session, member, run, flow, saved, ballot, quotable=quotable)

    async def _store_answer(
        self,
        session: AsyncSession,
        member: Member,
        run: FlowRun,
        flow: Flow,
        saved: SavedAnswer,
        ballot: list[Row],
        *,
        quotable: bool = False,
    ) -> None:
        """Store a named or proxy answer; add an anonymous one to the run's ballot."""
        values: list[str | int | float | None]
        values = list(saved.value) if isinstance(saved.value, list) else [saved.value]
        proxy = run.proxy
        group = member.stakeholder_group if proxy is None else proxy.get("group")
        if saved.anonymous and proxy is None:
            ballot.extend(
                {
                    "key": saved.key,
                    "kind": saved.kind,
                    "value": v,
                    "group": group,
                    "quotable": quotable,
                }
                for v in values
            )
            return
        for value in values:
            await repo.add_answer(
                session,
                run_id=run.id,
                member_id=None if proxy is not None else member.id,
                flow_id=flow.id,
                question_key=saved.key,
                kind=saved.kind,
                value=value,
                anonymous=saved.anonymous,
                stakeholder_group=group,
                now=self.clock.now(),
                quotable=quotable,
                recorded_by=None if proxy is None else member.id,
            )


def anonymous_keys(flow: Flow) -> set[str]:
    """The answer keys of a flow's anonymous questions (every one, in an anonymous flow)."""
    return {
        n.key
        for n in flow.nodes.values()
        if isinstance(n, AskNode) and (n.anonymous or flow.anonymous)
    }


def without(answers: Mapping[str, Any], keys: set[str]) -> dict[str, Any]:
    """The answers but those under `keys`."""
    return {k: v for k, v in answers.items() if k not in keys}
