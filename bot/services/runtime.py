"""The features, built once from the settings over one content holder: the running bot and the
command line take them from here rather than wiring each service by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from typing import Protocol, TypedDict, TypeVar

from bot.config import Settings
from bot.content import Content
from bot.delivery.shown import ShownMessages
from bot.domain.clock import Clock
from bot.domain.commitments import CHECKIN_FINISHER, RATING_FINISHER
from bot.domain.contracts import CAUCUS_FINISHER, CONCERNS_FINISHER
from bot.domain.due import DueRule
from bot.domain.flows import FlowRegistry
from bot.domain.objectives import OBJECTIVES_FINISHER, PROGRESS_FINISHER
from bot.i18n import Catalogs
from bot.services.alerts import TrustAlerts
from bot.services.ballots import Ballots
from bot.services.broadcasts import Broadcasts
from bot.services.caucus import Caucus
from bot.services.champions import Champions
from bot.services.checkins import Checkins
from bot.services.commitment_checkins import CommitmentCheckins
from bot.services.commitments import Commitments
from bot.services.committee_groups import CommitteeGroups, GroupPosts
from bot.services.committees import Committees
from bot.services.concerns import Concerns
from bot.services.conversations import Conversations
from bot.services.decisions import Decisions
from bot.services.digests import Digests
from bot.services.export import Exports, Source, export_policy
from bot.services.filing import SealedFiling
from bot.services.invites import Invitations
from bot.services.objectives import Objectives
from bot.services.offload import Offload
from bot.services.parent_ties import ParentTies
from bot.services.reports import Reports
from bot.services.sealing import CONSENT, Sealer


class Calendar(TypedDict):
    """What scheduled work is built from: the content it words, the partnership's clock."""

    flows: FlowRegistry
    catalogs: Catalogs
    partnership_timezone: str
    quiet_start: time
    quiet_end: time


class Reloading(Protocol):
    def use(self, flows: FlowRegistry, catalogs: Catalogs) -> None: ...


R = TypeVar("R", bound=Reloading)


def _calendar(settings: Settings, content: Content) -> Calendar:
    return Calendar(
        flows=content.flows,
        catalogs=content.catalogs,
        partnership_timezone=settings.partnership_timezone,
        quiet_start=settings.quiet_hours_start,
        quiet_end=settings.quiet_hours_end,
    )


def _following(content: Content, service: R) -> R:
    """`service`, told of every reload of `content` (it keeps work derived from the flows,
    such as their first steps)."""
    content.follow(lambda new: service.use(new.flows, new.catalogs))
    return service


def checkins_for(settings: Settings, content: Content) -> Checkins:
    """Scheduled check-ins, following the content's reloads."""
    return _following(content, Checkins(**_calendar(settings, content)))


def group_posts_for(settings: Settings, content: Content) -> GroupPosts:
    """Posts in committees' groups, on the partnership's clock."""
    return GroupPosts(
        content=content,
        partnership_timezone=settings.partnership_timezone,
        quiet_start=settings.quiet_hours_start,
        quiet_end=settings.quiet_hours_end,
    )


def digests_for(settings: Settings, content: Content) -> Digests:
    """Committees' voice digests and 'you said, we did' (to their groups too), following the
    content's reloads."""
    digests = Digests(
        **_calendar(settings, content),
        min_group=settings.report_min_group,
        min_commenters=settings.report_min_commenters,
        posts=group_posts_for(settings, content),
    )
    return _following(content, digests)


def parent_ties_for(settings: Settings, content: Content) -> ParentTies:
    """Ties to parent organisations (figures, alerts, /brief), following the content's reloads."""
    parent_ties = ParentTies(**_calendar(settings, content), min_group=settings.report_min_group)
    return _following(content, parent_ties)


@dataclass(frozen=True)
class Services:
    """Every feature of the running bot, each built once."""

    content: Content
    sealer: Sealer
    ballots: Ballots
    concerns: Concerns
    conversations: Conversations
    broadcasts: Broadcasts
    checkins: Checkins
    digests: Digests
    committees: Committees
    committee_groups: CommitteeGroups
    champions: Champions
    invitations: Invitations
    reports: Reports
    exports: Exports
    caucus: Caucus
    alerts: TrustAlerts
    parent_ties: ParentTies
    commitments: Commitments
    commitment_checkins: CommitmentCheckins
    objectives: Objectives
    decisions: Decisions
    filing: SealedFiling

    def close(self) -> None:
        """End what runs beside the bot (the export worker)."""
        self.exports.offload.close()

    @classmethod
    def build(
        cls,
        settings: Settings,
        content: Content,
        *,
        sealer: Sealer,
        clock: Clock,
    ) -> Services:
        """The features over `content`, sealing with `sealer` (what they queue wakes the
        outbox sender once committed: `bot.storage.db.create_session_factory`)."""
        ballots = Ballots(sealer=sealer, min_group=settings.report_min_group)
        shown = ShownMessages()
        filing = SealedFiling(clock=clock, sealer=sealer)
        concerns = Concerns(
            clock=clock,
            catalogs=content.catalogs,
            sealer=sealer,
            filing=filing,
            posts=group_posts_for(settings, content),
        )
        committees = Committees(clock=clock)
        caucus = Caucus(
            clock=clock,
            content=content,
            sealer=sealer,
            committees=committees,
            min_group=settings.report_min_group,
        )
        commitments = Commitments(clock=clock, content=content, min_group=settings.report_min_group)
        rule = DueRule(
            settings.partnership_timezone, settings.quiet_hours_start, settings.quiet_hours_end
        )
        commitment_checkins = CommitmentCheckins(clock=clock, content=content, rule=rule)
        invitations = Invitations(clock=clock, committees=committees, content=content)
        objectives = Objectives(clock=clock)
        conversations = Conversations(
            content=content,
            clock=clock,
            ballots=ballots,
            admin_ids=settings.admin_ids,
            consent_tag=lambda telegram_user_id: sealer.tag(CONSENT, telegram_user_id),
            # The flow names its hand-over (`finisher:`); here is the code behind each name.
            finishers={
                CONCERNS_FINISHER: concerns.finish_flow,
                CAUCUS_FINISHER: caucus.finish_flow,
                CHECKIN_FINISHER: commitment_checkins.finish_checkin,
                RATING_FINISHER: commitment_checkins.finish_rating,
                OBJECTIVES_FINISHER: objectives.finish_objective,
                PROGRESS_FINISHER: objectives.finish_rating,
            },
            partnership_timezone=settings.partnership_timezone,
            # An invitation link's group and committee, and the seat it offers, taken up.
            arrivals=invitations,
            shown=shown,
        )
        broadcasts = Broadcasts(
            clock=clock,
            content=content,
            partnership_timezone=settings.partnership_timezone,
            quiet_start=settings.quiet_hours_start,
            quiet_end=settings.quiet_hours_end,
        )
        return cls(
            content=content,
            sealer=sealer,
            ballots=ballots,
            concerns=concerns,
            conversations=conversations,
            broadcasts=broadcasts,
            checkins=checkins_for(settings, content),
            digests=digests_for(settings, content),
            committees=committees,
            committee_groups=CommitteeGroups(clock=clock, committees=committees, content=content),
            champions=Champions(
                clock=clock,
                content=content,
                quiet_after=timedelta(days=settings.champion_quiet_days),
            ),
            invitations=invitations,
            reports=_following(
                content,
                Reports(flows=content.flows, min_group=settings.report_min_group, clock=clock),
            ),
            exports=Exports(
                policy=export_policy(settings),
                sealer=sealer,
                offload=Offload(),
                source=Source.of(settings),
            ),
            caucus=caucus,
            alerts=TrustAlerts(
                content=content,
                clock=clock,
                min_group=settings.report_min_group,
                drop=settings.trust_alert_drop,
            ),
            parent_ties=parent_ties_for(settings, content),
            commitments=commitments,
            commitment_checkins=commitment_checkins,
            objectives=objectives,
            decisions=Decisions(
                clock=clock,
                content=content,
                sealer=sealer,
                committees=committees,
                rule=rule,
                min_group=settings.report_min_group,
                filing=filing,
            ),
            filing=filing,
        )
