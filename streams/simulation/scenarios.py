"""Named traffic mixes: who is on the API, for how long, and which campaigns run.

Campaign start times are fractions of the scenario length so a shortened run
(``--hours``) keeps every campaign, started at the same relative point.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    """One campaign in a scenario: its id, kind (see ``campaigns.CAMPAIGN_KINDS``) and timing."""

    cid: str
    kind: str
    accounts: int
    start_frac: float
    ramp_s: float


@dataclass(frozen=True, slots=True)
class RealTextPopulations:
    """The ``hard`` scenario's extra populations, made of the real prompt corpus.

    ``real_share`` is the share of ordinary users' new prompts taken from the corpus.
    """

    real_share: float
    habit_users: int
    labs: int
    lab_members: int
    harnesses: int
    tool_users: int
    students: int


@dataclass(frozen=True, slots=True)
class Scenario:
    """Population sizes of one scenario; ``start`` is RFC 3339 UTC."""

    name: str
    description: str
    hours: float
    start: str
    ordinary_users: int
    ide_developers: int
    chat_apps: tuple[str, ...]
    template_products: tuple[str, ...]
    eval_harnesses: int
    labelling_jobs: int
    company_employees: int
    power_users: int
    campaigns: tuple[CampaignPlan, ...]
    real_text: RealTextPopulations | None = None  # set: the scenario needs the corpus


_ALL_APPS = ("general", "tutor", "support", "writer")
_ALL_PRODUCTS = ("invoice", "triage", "copy", "review")

_DEFAULT = Scenario(
    name="default",
    description="Six hours of mixed traffic with three distillation campaigns, one of them "
    "using harvested ordinary prompts.",
    hours=6.0,
    start="2025-03-04T12:00:00Z",
    ordinary_users=3000,
    ide_developers=300,
    chat_apps=_ALL_APPS,
    template_products=_ALL_PRODUCTS,
    eval_harnesses=4,
    labelling_jobs=1,
    company_employees=150,
    power_users=3,
    campaigns=(
        CampaignPlan("A", "wrappers", 500, 0.1, 2400.0),
        CampaignPlan("B", "system_prompt", 300, 0.3, 1800.0),
        CampaignPlan("C", "harvested", 150, 0.45, 1500.0),
    ),
)

_HARD = Scenario(
    name="hard",
    description="Six hours of real prompt text written by others, hard negatives that share "
    "the campaigns' surface, and five campaigns using the tactics that evade detection: low "
    "and slow, perturbed wrappers, mimic developers, a broad harvest, a shared Orca prompt.",
    hours=6.0,
    start="2025-03-04T12:00:00Z",
    ordinary_users=10000,
    ide_developers=400,
    chat_apps=_ALL_APPS,
    template_products=_ALL_PRODUCTS,
    eval_harnesses=4,
    labelling_jobs=1,
    company_employees=150,
    power_users=3,
    campaigns=(
        CampaignPlan("L", "low_and_slow", 150, 0.05, 600.0),
        CampaignPlan("P", "perturbed", 300, 0.15, 2400.0),
        CampaignPlan("M", "mimic", 200, 0.25, 1800.0),
        CampaignPlan("S", "orca_farm", 200, 0.4, 1800.0),
        CampaignPlan("H", "broad", 1000, 0.55, 1800.0),
    ),
    real_text=RealTextPopulations(
        real_share=0.3,
        habit_users=150,
        labs=10,
        lab_members=4,
        harnesses=12,
        tool_users=300,
        students=250,
    ),
)

SCENARIOS: dict[str, Scenario] = {
    "default": _DEFAULT,
    "small": Scenario(
        name="small",
        description="Twenty minutes, a tenth of the accounts: for fast tests.",
        hours=1 / 3,
        start="2025-03-04T12:00:00Z",
        ordinary_users=200,
        ide_developers=20,
        chat_apps=("general",),
        template_products=("invoice",),
        eval_harnesses=2,
        labelling_jobs=1,
        company_employees=20,
        power_users=1,
        campaigns=(
            CampaignPlan("A", "wrappers", 40, 0.1, 180.0),
            CampaignPlan("B", "system_prompt", 25, 0.3, 180.0),
            CampaignPlan("C", "harvested", 15, 0.45, 150.0),
        ),
    ),
    "hard": _HARD,
    "hard_small": replace(
        _HARD,
        name="hard_small",
        description="The hard scenario in forty minutes with a tenth of the people: for tests.",
        hours=2 / 3,
        ordinary_users=800,
        ide_developers=30,
        chat_apps=("general",),
        template_products=("invoice",),
        eval_harnesses=1,
        company_employees=20,
        power_users=1,
        campaigns=(
            CampaignPlan("L", "low_and_slow", 30, 0.05, 120.0),
            CampaignPlan("P", "perturbed", 30, 0.15, 300.0),
            CampaignPlan("M", "mimic", 24, 0.25, 300.0),
            CampaignPlan("S", "orca_farm", 20, 0.4, 300.0),
            CampaignPlan("H", "broad", 100, 0.55, 300.0),
        ),
        real_text=RealTextPopulations(
            real_share=0.3,
            habit_users=20,
            labs=3,
            lab_members=3,
            harnesses=3,
            tool_users=40,
            students=30,
        ),
    ),
    "harvested": replace(
        _DEFAULT,
        name="harvested",
        description="The default background with only the hardest campaign: harvested "
        "ordinary prompts, no wrapper, caught only by behaviour and infrastructure.",
        campaigns=(CampaignPlan("C", "harvested", 150, 0.2, 1500.0),),
    ),
}
