"""Seeded traffic simulator: the ground truth DistillWatch's detection quality is measured on.

``simulate(scenario, seed)`` returns request events in event-time order and the
labels of every account that sent one.  It is pure: no I/O, no wall clock, and
the same scenario and seed always give the same events.  Populations follow
the threat model honestly (see ``populations``); nothing here knows how the
detector works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.errors import SimulationError
from streams.records import RequestEvent
from streams.simulation import hard_populations as hp
from streams.simulation import populations as pop
from streams.simulation.campaigns import CAMPAIGN_KINDS, campaign
from streams.simulation.corpus import FETCH_COMMAND, Corpus
from streams.simulation.hard_campaigns import HARD_KINDS
from streams.simulation.hard_campaigns import campaign as hard_campaign
from streams.simulation.scenarios import SCENARIOS, CampaignPlan, Scenario
from streams.simulation.world import Simulated, World
from streams.timeparse import format_timestamp, parse_timestamp

__all__ = ["SCENARIOS", "CampaignPlan", "Scenario", "Simulation", "simulate"]


@dataclass(frozen=True, slots=True)
class Simulation:
    """Events sorted by (ts, event_id) and the labels document (see ``labels`` keys)."""

    events: list[RequestEvent]
    labels: dict[str, Any]


def simulate(
    scenario: str | Scenario = "default",
    seed: int = 1,
    hours: float | None = None,
    corpus: Corpus | None = None,
) -> Simulation:
    """Generate a scenario's traffic; ``hours`` overrides its length.

    A scenario with ``real_text`` (``hard``) needs the real prompt ``corpus``
    (``agents.tools.corpus.load``); without it the call fails naming the fetch command.
    """
    if isinstance(scenario, str):
        if scenario not in SCENARIOS:
            raise SimulationError(
                f"unknown scenario {scenario!r}; known: {', '.join(sorted(SCENARIOS))}"
            )
        scenario = SCENARIOS[scenario]
    if scenario.real_text is not None and corpus is None:
        raise SimulationError(
            f"scenario {scenario.name!r} needs the real prompt corpus; fetch it with "
            f"`{FETCH_COMMAND}`"
        )
    length_h = scenario.hours if hours is None else hours
    if not length_h > 0:
        raise SimulationError(f"hours must be positive, got {length_h!r}")
    start = parse_timestamp(scenario.start)
    world = World(seed=seed, start=start, end=start + length_h * 3600.0)

    # Every sampled person calls at least once, so a shortened window samples fewer people
    # (in proportion) rather than packing a whole day's users into a few minutes.
    scale = min(1.0, length_h / scenario.hours)

    def people(count: int) -> int:
        return max(1, round(count * scale)) if count else 0

    extra = scenario.real_text
    groups: list[list[Simulated]] = [
        pop.ordinary_users(world, people(scenario.ordinary_users))
        if extra is None or corpus is None
        else pop.ordinary_users(
            world, people(scenario.ordinary_users), hp.mixed_writer(corpus, extra.real_share)
        ),
        pop.ide_developers(world, people(scenario.ide_developers)),
        pop.chat_backends(world, scenario.chat_apps),
        pop.template_products(world, scenario.template_products),
        pop.eval_harnesses(world, scenario.eval_harnesses),
        pop.labelling_jobs(world, scenario.labelling_jobs),
        pop.nat_company(world, people(scenario.company_employees)),
        pop.power_users(world, scenario.power_users),
    ]
    if extra is not None and corpus is not None:
        groups += [
            hp.structured_habit_users(world, corpus, people(extra.habit_users)),
            hp.research_labs(world, corpus, extra.labs, extra.lab_members),
            hp.real_eval_harnesses(world, corpus, extra.harnesses),
            hp.shared_prompt_tool(world, corpus, people(extra.tool_users)),
            hp.sso_campus(world, corpus, people(extra.students)),
        ]
    campaigns: dict[str, dict[str, Any]] = {}
    for plan in scenario.campaigns:
        # The ramp never outlasts half of what is left of the window.
        ramp = min(plan.ramp_s, 0.5 * (1.0 - plan.start_frac) * world.duration)
        if plan.kind in HARD_KINDS and corpus is not None:
            members = hard_campaign(
                world, corpus, plan.cid, plan.kind, plan.accounts, plan.start_frac, ramp
            )
            # Time to detect counts from the campaign's first request.
            first = min((e.ts for m in members for e in m.events), default=world.end)
            start, tactics = first, HARD_KINDS[plan.kind].tactics
        else:
            members = campaign(world, plan.cid, plan.kind, plan.accounts, plan.start_frac, ramp)
            start = world.start + plan.start_frac * world.duration
            tactics = CAMPAIGN_KINDS[plan.kind].tactics
        groups.append(members)
        campaigns[plan.cid] = {
            "start": format_timestamp(start),
            "tactics": list(tactics),
            "accounts": sum(1 for m in members if m.events),
        }

    accounts: dict[str, dict[str, Any]] = {}
    events: list[RequestEvent] = []
    for group in groups:
        for member in group:
            if member.events:  # an account that never called is invisible to any detector
                accounts[member.account_id] = member.label
                events.extend(member.events)
    events.sort(key=lambda e: (e.ts, e.event_id))
    labels = {
        "scenario": scenario.name,
        "seed": seed,
        "start": format_timestamp(world.start),
        "hours": length_h,
        "accounts": accounts,
        "campaigns": campaigns,
    }
    if corpus is not None and scenario.real_text is not None:
        labels["corpus"] = list(corpus.meta)
    return Simulation(events=events, labels=labels)
