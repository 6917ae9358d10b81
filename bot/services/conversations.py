"""Conversations: runs the pure flow engine for a member and keeps its state in the database.

This is the host side of the engine: it loads the run, calls the engine, stores answers and
profile changes, and returns what to show. It knows neither aiogram nor wording.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.delivery.shown import ShownMessages
from bot.domain import engine
from bot.domain.clock import Clock
from bot.domain.contracts import TIME_ZONE_ANSWER, TIME_ZONE_FINISHER
from bot.domain.engine import Input, PressInput, Reply, RunState, Step
from bot.domain.flows import AskNode, Flow, FlowRegistry
from bot.domain.timing import zone, zone_label
from bot.services.arrivals import Arrivals, NoArrivals
from bot.services.ballots import Ballots, Row
from bot.services.run_answers import RunAnswers, anonymous_keys, without
from bot.services.shown import typed_before_shown
from bot.storage import keys, repo
from bot.storage.models import FlowRun, Member, MemberRole, MemberStatus, RunStatus

ONBOARDING = "onboarding"
TIME_ZONE = "timezone"
Finisher = Callable[[AsyncSession, Member, Mapping[str, Any]], Awaitable[tuple[Reply, ...]]]
PRE_CONSENT_RUN = 0
# A typed "yes" counts as consent only this long after the consent question was shown.
CONSENT_SHOWN_FOR = timedelta(days=7)


@dataclass(frozen=True)
class UserRef:
    """Who wrote, as Telegram tells it (a person may not be a member yet)."""

    telegram_user_id: int
    chat_id: int
    display_name: str
    language_code: str | None = None


@dataclass(frozen=True)
class Message:
    """One reply to show; questions carry the run their buttons answer, and `locale` the
    language they are asked in when it is not the reader's (a person answering by proxy)."""

    reply: Reply
    run_id: int = PRE_CONSENT_RUN
    locale: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What to show the member after one input."""

    locale: str
    messages: tuple[Message, ...] = ()
    refresh: bool = False
    closed: bool = False
    params: Mapping[str, str] = field(default_factory=dict)
    # The answer given, for the message of the question it answers (after a press).
    answered: Reply | None = None
    # A message whose buttons answer a question no longer open (it was answered by typing).
    stale_buttons: int | None = None

    @property
    def replies(self) -> tuple[Reply, ...]:
        return tuple(m.reply for m in self.messages)


def _say(key: str, **params: str | int | float) -> Message:
    return Message(Reply(key=key, params=params))


class Conversations:
    """Start, resume and end flows for members."""

    def __init__(
        self,
        *,
        content: Content,
        clock: Clock,
        ballots: Ballots,
        consent_tag: Callable[[int], str],
        finishers: Mapping[str, Finisher] | None = None,
        admin_ids: frozenset[int] = frozenset(),
        partnership_timezone: str = "UTC",
        arrivals: Arrivals | None = None,
        shown: ShownMessages | None = None,
    ) -> None:
        # What this instance's sender showed before its outcome is committed (typed answers).
        self.shown = ShownMessages() if shown is None else shown
        # The code a flow's `finisher:` hands it over to when it ends, e.g. a concern that
        # becomes a ticket: its answers are never stored as answers, nor kept on a run.
        self.finishers: dict[str, Finisher] = {
            TIME_ZONE_FINISHER: self._zone_set,
            **(finishers or {}),
        }
        if ONBOARDING not in content.flows:
            raise ValueError(f"the flows directory must define the '{ONBOARDING}' flow")
        # Flows and wording are read through the holder at each use: a reload swaps them there.
        self.content = content
        self.clock = clock
        self.answers = RunAnswers(ballots=ballots, clock=clock)
        self.admin_ids = admin_ids
        # Keyed hash of a Telegram user id: who was shown the consent question, unreadable
        # without the anonymity key (nothing else is stored before consent).
        self.consent_tag = consent_tag
        self.partnership_timezone = partnership_timezone
        self.arrivals = arrivals or NoArrivals()

    @property
    def flows(self) -> FlowRegistry:
        return self.content.flows

    @property
    def locales(self) -> tuple[str, ...]:
        return self.content.locales

    @property
    def default_locale(self) -> str:
        return self.content.default_locale

    def locale_of(self, user: UserRef, member: Member | None) -> str:
        """The locale to speak to this person in."""
        if member is not None and member.language in self.locales:
            return member.language
        code = (user.language_code or "").replace("_", "-").split("-")[0].lower()
        return code if code in self.locales else self.default_locale

    def _outcome(self, user: UserRef, member: Member | None, **kwargs: object) -> Outcome:
        name = member.display_name if member else user.display_name
        params = {"name": name, **self.zone_params(member.time_zone if member else None)}
        return Outcome(locale=self.locale_of(user, member), params=params, **kwargs)  # type: ignore[arg-type]

    def zone_params(self, name: str | None) -> dict[str, str]:
        """A member's zone as shown (the partnership's when they set none) and its time now."""
        chosen = name or self.partnership_timezone
        local = self.clock.now().astimezone(zone(chosen, self.partnership_timezone))
        return {"zone": zone_label(chosen), "local_time": local.strftime("%H:%M")}

    async def _zone_set(
        self, session: AsyncSession, member: Member, answers: Mapping[str, Any]
    ) -> tuple[Reply, ...]:
        """Confirm a new time zone with the time it is there (the profile is already set)."""
        chosen = answers.get(TIME_ZONE_ANSWER)
        return (Reply(key="timezone.set", params=self.zone_params(str(chosen or ""))),)

    # -- commands ---------------------------------------------------------------------------

    async def start_command(
        self, session: AsyncSession, *, user: UserRef, member: Member | None
    ) -> Outcome:
        """/start: onboard a newcomer, resume an unfinished flow, or welcome back."""
        if member is None:
            return await self._welcome(session, user)
        now = self.clock.now()
        if member.status != MemberStatus.ACTIVE:
            await repo.update_member(
                session, member=member, changes={"status": MemberStatus.ACTIVE}, now=now
            )
        run = await repo.get_running_run(session, member_id=_id(member))
        if run is not None:
            resumed = await self._prompt(session, user, member, run)
            return replace_messages(resumed, (_say("cmd.start.resume"), *resumed.messages))
        if member.stakeholder_group is None:
            return await self.begin(session, user=user, member=member, flow_id=ONBOARDING)
        return self._outcome(user, member, messages=(_say("cmd.start.welcome_back"),))

    async def begin(
        self,
        session: AsyncSession,
        *,
        user: UserRef,
        member: Member,
        flow_id: str,
        proxy: Mapping[str, str | None] | None = None,
        given: Mapping[str, Any] | None = None,
    ) -> Outcome:
        """Start `flow_id` for a member, unless another flow is still open; `given`: answers
        the code gives it before it starts (a flow's `given`, e.g. the objective to rate).

        With `proxy` ({"group", "language"}) a facilitator answers for someone without a phone:
        the answers are stored as that person's (see `_store_answer`), never as the member's.
        `given`: answers the code gives the flow before it starts (its `given:` names them).
        """
        at_any_time = self._at_any_time(flow_id)
        if member.status == MemberStatus.STOPPED and not at_any_time:
            return self._outcome(user, member, messages=(_say("chat.stopped"),))
        running = await repo.get_running_run(session, member_id=_id(member))
        if running is not None and (not at_any_time or running.flow_id == flow_id):
            if member.status == MemberStatus.STOPPED:
                return self._outcome(user, member, messages=(_say("chat.stopped"),))
            prompt = await self._prompt(session, user, member, running)
            return replace_messages(prompt, (_say("chat.busy"), *prompt.messages))
        flow = self.flows[flow_id]
        messages = await self._start_run(session, member, flow, proxy=proxy, given=given)
        if running is not None and member.status != MemberStatus.STOPPED:
            messages = (_say("chat.paused"), *messages)
        return self._outcome(user, member, messages=messages)

    async def cancel(
        self, session: AsyncSession, *, user: UserRef, member: Member | None
    ) -> Outcome:
        """/cancel: abandon the open flow, keeping the answers already given."""
        run = None if member is None else await repo.get_running_run(session, member_id=_id(member))
        if run is None:
            return self._outcome(user, member, messages=(_say("cmd.cancel.none"),))
        assert member is not None
        if self._finisher(run.flow_id) is not None:
            await repo.delete_run(session, run=run)
        else:
            await self._end(session, run, RunStatus.ABANDONED)
        resumed = await self._resume_paused(session, member)
        return self._outcome(user, member, messages=(_say("cmd.cancel.done"), *resumed))

    async def stop(self, session: AsyncSession, *, user: UserRef, member: Member | None) -> Outcome:
        """/stop: no more messages until /start; an open flow is left as it is."""
        if member is not None:
            changes = {"status": MemberStatus.STOPPED}
            await repo.update_member(session, member=member, changes=changes, now=self.clock.now())
        return self._outcome(user, member, messages=(_say("cmd.stop.done"),))

    async def set_language(
        self, session: AsyncSession, *, user: UserRef, member: Member | None, locale: str
    ) -> Outcome:
        """Switch a member's language and ask the open question again in it."""
        if locale not in self.locales:
            raise ValueError(f"no catalog for locale '{locale}'")
        if member is None:
            return self._outcome(user, member)
        await repo.update_member(
            session, member=member, changes={"language": locale}, now=self.clock.now()
        )
        confirmation = (_say("cmd.language.set"),)
        run = await repo.get_running_run(session, member_id=_id(member))
        if run is None:
            return self._outcome(user, member, messages=confirmation)
        prompt = await self._prompt(session, user, member, run)
        return replace_messages(prompt, (*confirmation, *prompt.messages))

    async def reprompt(self, session: AsyncSession, *, user: UserRef, member: Member) -> Outcome:
        """Ask the open question again, if there is one."""
        run = await repo.get_running_run(session, member_id=_id(member))
        if run is None:
            return self._outcome(user, member)
        return await self._prompt(session, user, member, run)

    # -- answers ----------------------------------------------------------------------------

    async def answer(
        self,
        session: AsyncSession,
        *,
        user: UserRef,
        member: Member | None,
        event: Input,
        run_id: int | None = None,
        message_id: int | None = None,
    ) -> Outcome:
        """Apply typed text (chat message `message_id`) or a button press (of run `run_id`)
        to the open question."""
        if member is None:
            if run_id not in (None, PRE_CONSENT_RUN):
                return self._outcome(user, None, closed=True)
            return await self._answer_before_consent(session, user, event)
        if member.status == MemberStatus.BLOCKED:
            # Writing to us means they unblocked the bot.
            changes = {"status": MemberStatus.ACTIVE}
            await repo.update_member(session, member=member, changes=changes, now=self.clock.now())
        run = await repo.get_running_run(session, member_id=_id(member))
        if member.status == MemberStatus.STOPPED and (
            run is None or not self._at_any_time(run.flow_id)
        ):
            return self._outcome(user, member, messages=(_say("chat.stopped"),))
        if run is None or (run_id is not None and run_id != run.id):
            if isinstance(event, PressInput):
                return self._outcome(user, member, closed=True)
            idle = "chat.unsupported" if isinstance(event, engine.MediaInput) else "chat.idle"
            return self._outcome(user, member, messages=(_say(idle),))
        if isinstance(event, engine.TextInput) and await typed_before_shown(
            session, self.shown, message_id, run
        ):
            return self._outcome(user, member, messages=(_say("chat.typed_before_question"),))
        if run.proxy is not None and member.role == MemberRole.MEMBER:
            # Answering for someone else is a coordinator's task, checked at every answer.
            await self._end(session, run, RunStatus.ABANDONED)
            return self._outcome(user, member, messages=(_say("proxy.not_allowed"),))
        flow = self._current_flow(run)
        if flow is None:
            return await self._restart_changed(session, user, member, run)
        state, ballot = self.answers.open(run)
        step = self._resume(flow, state, event, _person_locale(run) or self.locale_of(user, member))
        if step.closed:
            return self._outcome(user, member, closed=True)
        # Typed text is followed by the question again or the next one: the buttons of the
        # message that asked it would answer a question no longer shown there.
        typed = not isinstance(event, PressInput)
        stale = run.prompt_message_id if typed and run.prompt_buttons else None
        if not step.accepted:
            await self.answers.save(session, run, flow, step, ballot)
            messages = _run_messages(run, step.replies)
            return self._outcome(
                user, member, messages=messages, refresh=step.refresh, stale_buttons=stale
            )
        messages = await self._apply(session, member, run, flow, step, ballot)
        return self._outcome(
            user, member, messages=messages, answered=step.answered, stale_buttons=stale
        )

    def _resume(self, flow: Flow, state: RunState, event: Input, locale: str) -> Step:
        return engine.resume(
            flow,
            state,
            event,
            label=self.content.catalogs.translator(locale),
            words=self.content.catalogs.words,
            decimal_mark=self.content.catalogs.decimal_mark(locale),
        )

    async def _answer_before_consent(
        self, session: AsyncSession, user: UserRef, event: Input
    ) -> Outcome:
        # Before consent nothing is stored: the open question is always onboarding's first one,
        # so the state is rebuilt from the flow instead of being kept.
        flow = self.flows[ONBOARDING]
        first = engine.start(flow)
        now = self.clock.now()
        tag = self.consent_tag(user.telegram_user_id)
        # Consent is an answer to the question shown: its button, or typing after it was sent.
        misses = await keys.consent_misses(session, tag=tag, since=now - CONSENT_SHOWN_FOR)
        if misses is None and not isinstance(event, PressInput):
            return await self._welcome(session, user)
        given = await self.arrivals.given(session, tag)
        state = dataclasses.replace(first.state, misses=misses or 0, answers=given)
        step = self._resume(flow, state, event, self.locale_of(user, None))
        if step.closed or (not step.accepted and isinstance(event, PressInput)):
            return self._outcome(
                user, None, closed=step.closed, messages=tuple(Message(r) for r in step.replies)
            )
        if not step.accepted:
            # Counted like any question's misunderstandings: hints, the way out, set aside.
            await keys.consent_missed(session, tag=tag, misses=step.state.misses)
            return self._outcome(user, None, messages=tuple(Message(r) for r in step.replies))
        if step.discard:
            await keys.consent_answered(session, tag=tag)
            return self._outcome(user, None, messages=tuple(Message(r) for r in step.replies))
        role = MemberRole.ADMIN if user.telegram_user_id in self.admin_ids else MemberRole.MEMBER
        member = await repo.create_member(
            session,
            telegram_user_id=user.telegram_user_id,
            chat_id=user.chat_id,
            display_name=user.display_name,
            language=self.locale_of(user, None),
            now=now,
            role=role,
        )
        await self.arrivals.joined(session, member, tag)
        await keys.consent_answered(session, tag=tag)
        run = await repo.create_run(
            session,
            member_id=_id(member),
            flow_id=flow.id,
            flow_version=flow.version,
            node_id=first.state.node_id,
            answers={},
            selected=(),
            now=now,
        )
        messages = await self._apply(session, member, run, flow, step, [])
        return self._outcome(user, member, messages=messages, answered=step.answered)

    # -- internals --------------------------------------------------------------------------

    def _finisher(self, flow_id: str) -> Finisher | None:
        """What the flow's answers are handed over to when it ends (its `finisher:`)."""
        flow = self.flows.get(flow_id)
        return None if flow is None or flow.finisher is None else self.finishers.get(flow.finisher)

    def _at_any_time(self, flow_id: str) -> bool:
        """Whether members may open the flow over another, and even after /stop (a concern):
        the open flow waits beneath it and goes on when it ends."""
        flow = self.flows.get(flow_id)
        return flow is not None and flow.at_any_time

    async def _welcome(self, session: AsyncSession, user: UserRef) -> Outcome:
        """The welcome and the consent question, remembered as shown to this person."""
        step = engine.start(self.flows[ONBOARDING])
        tag = self.consent_tag(user.telegram_user_id)
        await keys.consent_shown(session, tag=tag, now=self.clock.now())
        return self._outcome(user, None, messages=tuple(Message(r) for r in step.replies))

    async def _apply(
        self,
        session: AsyncSession,
        member: Member,
        run: FlowRun,
        flow: Flow,
        step: Step,
        ballot: list[Row],
    ) -> tuple[Message, ...]:
        """Store an accepted step: answers, profile changes, run state; chain the next flow."""
        now = self.clock.now()
        if step.profile and run.proxy is None:
            await repo.update_member(
                session, member=member, changes=self._profile(step.profile), now=now
            )
        if step.discard:
            # The member asked for nothing to be kept: the ballot goes too.
            await self._end(session, run, RunStatus.ABANDONED, cast=False)
            return _run_messages(run, step.replies)
        finisher = self._finisher(flow.id)
        if finisher is not None:
            return await self._hand_over(session, member, run, flow, step, ballot, finisher)
        await self.answers.store(session, member, run, flow, step, ballot)
        if step.finished:
            # Anonymous answers leave the run as a ballot, in nobody's name; someone else's
            # answers (a proxy run) were stored as theirs and are not kept on the run either.
            await self.answers.cast(session, run, ballot)
            anonymous = {a.key for a in step.answers if a.anonymous} | anonymous_keys(flow)
            answers = {} if run.proxy is not None else without(step.state.answers, anonymous)
            await repo.save_run_state(
                session, run=run, node_id=None, answers=answers, selected=(), now=now
            )
        else:
            await self.answers.save(session, run, flow, step, ballot)
        said = await self.arrivals.take_up(session, member, step.answers) if not run.proxy else ()
        messages = _run_messages(run, (*said, *step.replies))
        if step.finished and step.start_flow and run.proxy is None:
            messages += await self._start_run(session, member, self.flows[step.start_flow])
        return messages

    async def _hand_over(
        self,
        session: AsyncSession,
        member: Member,
        run: FlowRun,
        flow: Flow,
        step: Step,
        ballot: list[Row],
        finisher: Finisher,
    ) -> tuple[Message, ...]:
        """Keep a taken-over flow's answers on its run until it ends (its anonymous ones sealed),
        then hand them over and remove the run: nothing links the member to what they said but
        the service's record."""
        if not step.finished:
            await self.answers.save(session, run, flow, step, ballot)
            return _run_messages(run, step.replies)
        extra = await finisher(session, member, dict(step.state.answers))
        messages = _run_messages(run, (*step.replies, *extra))
        await repo.delete_run(session, run=run)
        return messages + await self._resume_paused(session, member)

    async def _resume_paused(self, session: AsyncSession, member: Member) -> tuple[Message, ...]:
        """The open question of a flow that waited beneath the one just ended, asked again."""
        if member.status == MemberStatus.STOPPED:
            return ()
        paused = await repo.get_running_run(session, member_id=_id(member))
        if paused is None:
            return ()
        flow = self._current_flow(paused)
        if flow is None:
            await self._end(session, paused, RunStatus.ABANDONED)
            return ()
        step = await self._ask_again(session, paused, flow)
        return (_say("chat.resumed"), *(Message(r, _id(paused)) for r in step.replies))

    def _profile(self, changes: Mapping[str, str]) -> dict[str, str]:
        profile = dict(changes)
        if "language" in profile and profile["language"] not in self.locales:
            profile.pop("language")
        return profile

    async def _start_run(
        self,
        session: AsyncSession,
        member: Member,
        flow: Flow,
        *,
        proxy: Mapping[str, str | None] | None = None,
        given: Mapping[str, Any] | None = None,
    ) -> tuple[Message, ...]:
        # The given answers go in at the start: a branch before the first question may test them.
        step = engine.start(flow, given)
        run = await repo.create_run(
            session,
            member_id=_id(member),
            flow_id=flow.id,
            flow_version=flow.version,
            node_id=step.state.node_id,
            answers=step.state.answers,
            selected=(),
            now=self.clock.now(),
        )
        if proxy is not None:
            run.proxy = dict(proxy)
            session.add(run)
            await session.flush()
        return _run_messages(run, step.replies)

    async def _end(
        self, session: AsyncSession, run: FlowRun, status: RunStatus, *, cast: bool = True
    ) -> None:
        await self.answers.end(session, run, self.flows.get(run.flow_id), status, cast=cast)

    async def _prompt(
        self, session: AsyncSession, user: UserRef, member: Member, run: FlowRun
    ) -> Outcome:
        flow = self._current_flow(run)
        if flow is None:
            return await self._restart_changed(session, user, member, run)
        step = await self._ask_again(session, run, flow)
        return self._outcome(user, member, messages=_run_messages(run, step.replies))

    async def _ask_again(self, session: AsyncSession, run: FlowRun, flow: Flow) -> Step:
        """The open question asked afresh: a question set aside after misunderstandings is
        open to answers again."""
        step = engine.prompt(flow, self.answers.open(run)[0])
        if run.misses:
            await repo.save_run_state(
                session,
                run=run,
                node_id=run.node_id,
                answers=run.answers,
                selected=run.selected or (),
                misses=step.state.misses,
                now=self.clock.now(),
            )
        return step

    def _current_flow(self, run: FlowRun) -> Flow | None:
        """The run's flow, or None when it was removed or its open node no longer fits."""
        flow = self.flows.get(run.flow_id)
        if flow is None or run.node_id is None:
            return None
        if run.flow_version != flow.version and not isinstance(
            flow.nodes.get(run.node_id), AskNode
        ):
            return None
        return flow

    async def _restart_changed(
        self, session: AsyncSession, user: UserRef, member: Member, run: FlowRun
    ) -> Outcome:
        await self._end(session, run, RunStatus.ABANDONED)
        flow = self.flows.get(run.flow_id)
        if flow is None:
            return self._outcome(user, member, messages=(_say("chat.idle"),))
        messages = await self._start_run(session, member, flow)
        return self._outcome(user, member, messages=(_say("chat.flow_updated"), *messages))


def replace_messages(outcome: Outcome, messages: tuple[Message, ...]) -> Outcome:
    """The same outcome with other messages."""
    return dataclasses.replace(outcome, messages=messages)


def _person_locale(run: FlowRun) -> str | None:
    """The language of the person a proxy run is answered for, if the facilitator gave it."""
    return (run.proxy or {}).get("language")


def _run_messages(run: FlowRun, replies: Iterable[Reply]) -> tuple[Message, ...]:
    """A run's replies: asked for someone else, in their language (to be read aloud to them),
    except the hints, which speak to the facilitator typing the answers."""
    person = _person_locale(run)
    return tuple(Message(r, _id(run), None if r.hint else person) for r in replies)


def _id(row: Member | FlowRun) -> int:
    assert row.id is not None, "row was not flushed"
    return row.id
