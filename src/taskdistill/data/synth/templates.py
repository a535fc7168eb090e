"""The template backend's grammar: realistic wire-style headlines with the class known by construction.

Naive templates ("X upgrades Y to Buy") saturate: a 135M model fine-tuned on them scores ~0.96 after
30 steps and every compression curve would be flat. What makes real wire copy hard, and what this
grammar reproduces on purpose (each is a knob in ``Difficulty``):

- ``multi_event``: one headline reports two events ("Upgrades to Buy, Raises PT"; "tops estimates but
  cuts outlook"); the label is the one the task's precedence rules pick (``TASK.resolve``).
- ``distractor``: near-miss vocabulary across classes ("cuts" that are not layoffs, a "target" that is
  not a price target, "strikes a deal", an equity "upgrade" vs a Moody's upgrade) and OTHER headlines
  that borrow the words of real classes (earnings calendars, stock lists, option "strike" prices,
  "Fed cuts rates", bond offerings "launched").
- ``numeric``: the direction is only in the numbers ("EPS $1.26 vs $1.19 est", "PT $104 from $98",
  "dividend $0.25 vs $0.23 prior"), as in terse feeds.
- ``noisy``: source prefixes/suffixes ("UPDATE 1-", "- Reuters"), casing, abbreviations, typos.

OTHER is a long tail of sub-kinds (market wraps, stock lists, commentary, interviews, options
activity, offerings, macro, previews, corporate housekeeping) because real feeds are mostly that.
Every sample carries a one-sentence gold rationale written from the structured fields.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import Field

from taskdistill.config import StrictModel
from taskdistill.data.synth import pools as P
from taskdistill.task import load_task

TASK = load_task("finheadlines")  # this grammar writes the built-in task's labels, under its precedence rules


class Difficulty(StrictModel):
    """Shares of the hard headline kinds (each in [0, 1]); the rest are plain single-event headlines."""

    multi_event: float = Field(0.25, ge=0, le=1)
    distractor: float = Field(0.15, ge=0, le=1)
    numeric: float = Field(0.5, ge=0, le=1)  # of the classes that have a numbers-only form
    noisy: float = Field(0.35, ge=0, le=1)
    wire: float = Field(0.3, ge=0, le=1)  # wire/aggregator styles (see WIRE)


@dataclass
class Sample:
    headline: str
    label: str
    rationale: str
    kind: str = "simple"  # simple | numeric | multi | distractor | other:<subkind>
    fields: dict = field(default_factory=dict)


R = random.Random


def _pick(rng: R, options):
    return options[rng.randrange(len(options))]


def _pct(rng: R, lo: int = 2, hi: int = 35) -> str:
    v = rng.uniform(lo, hi)
    return f"{v:.1f}" if rng.random() < 0.5 else f"{round(v)}"


def _price(rng: R) -> float:
    return round(rng.choice((rng.uniform(5, 60), rng.uniform(20, 250), rng.uniform(100, 900))), rng.choice((0, 0, 2)))


def _fmt_price(v: float) -> str:
    return f"${v:.2f}" if v != int(v) else f"${int(v)}"


REASONS_UP = ("valuation", "AI demand", "margin recovery", "improving fundamentals", "pricing power", "a turnaround",
              "a strong pipeline", "easing competition", "better visibility", "cost cuts", "upside to estimates",
              "share gains", "a recovery in demand")
REASONS_DOWN = ("valuation", "slowing growth", "margin pressure", "competition", "weak demand", "execution risk",
                "limited upside", "rising costs", "tariff exposure", "inventory glut", "regulatory risk")
DRIVERS_UP = ("strong demand", "cloud growth", "AI spending", "higher prices", "robust travel demand", "cost cuts",
              "resilient consumer spending", "record deliveries", "strong iPhone sales", "higher margins")
DRIVERS_DOWN = ("weak demand", "higher costs", "a slowdown in China", "inventory writedowns", "soft advertising",
                "currency headwinds", "supply-chain snags", "lower prices", "weak consumer spending")
UNITS = ("consumer health", "cloud", "pharmacy", "trucking", "chemicals", "European", "Latin American", "media",
         "cable", "mobile", "insurance", "asset management", "paint", "aerospace parts", "lighting", "payments",
         "animal health", "wealth management", "retail banking", "data-center", "packaging", "fragrance")
ISSUES = ("accounting practices", "pricing", "data privacy", "antitrust concerns", "emissions claims", "safety lapses",
          "disclosures", "sales practices", "bribery allegations", "market manipulation", "opioid marketing",
          "overdraft fees", "AI claims", "cybersecurity lapses", "wage violations")
CUSTOMERS = ("the Pentagon", "the U.S. Army", "the Navy", "NASA", "the Department of Defense", "the U.S. Air Force",
             "a major utility", "Walmart", "Amazon Web Services", "a European carrier", "the UK government",
             "a Fortune 500 customer", "the German army", "Saudi Aramco", "Indian Railways", "the NHS")
TOPICS = ("AI", "cloud computing", "electric vehicles", "battery technology", "drug discovery", "payments",
          "autonomous driving", "cybersecurity", "chips", "streaming", "renewable energy", "quantum computing")
MACRO = ("Fed rate-cut bets", "cooling inflation data", "strong jobs data", "tariff worries", "bond yields rise",
         "oil prices slide", "bank earnings", "tech rally", "China stimulus hopes", "recession fears")
SECTORS = ("Solar", "Semiconductor", "Biotech", "Regional Bank", "Retail", "Restaurant", "Airline", "Railroad",
           "Oil Services", "Software", "Medical Device", "Homebuilder", "Utility", "Insurance", "Media", "REIT")
CONFS = ("the Goldman Sachs Communacopia Conference", "the J.P. Morgan Healthcare Conference", "CES",
         "the Morgan Stanley TMT Conference", "the Barclays Global Financial Services Conference", "an investor day")


def _tier_pair(rng: R, up: bool) -> tuple[str, str]:
    lo = rng.choice((0, 1))
    hi = rng.choice(tuple(t for t in (1, 2) if t > lo))
    frm, to = (lo, hi) if up else (hi, lo)
    return _pick(rng, P.RATINGS[frm]), _pick(rng, P.RATINGS[to])


def _rating(rng: R, tier: int | None = None) -> str:
    return _pick(rng, P.RATINGS[rng.randint(0, 2) if tier is None else tier])


def _pt_pair(rng: R, up: bool) -> tuple[str, str]:
    old = _price(rng)
    delta = rng.uniform(0.03, 0.35) * old
    new = old + delta if up else old - delta
    dec = 2 if old != int(old) else 0
    new = round(new, dec)
    if new == old:
        new = old + (1 if up else -1)
    return _fmt_price(new), _fmt_price(old)


# ----------------------------------------------------------------------------------------------
# One generator per class: returns (headline, rationale, kind). ``num`` asks for the numeric form.


def g_rating_change(rng: R, up: bool, num: bool) -> tuple[str, str, str]:
    c, b = P.company(rng).ref(rng), _pick(rng, P.BROKERS)
    frm, to = _tier_pair(rng, up)
    reason = _pick(rng, REASONS_UP if up else REASONS_DOWN)
    verb = "Upgrades" if up else "Downgrades"
    if up:
        forms = (
            f"{b} Upgrades {c} to {to}", f"{b} Upgrades {c} From {frm} to {to}",
            f"{c} upgraded to {to} from {frm} at {b}", f"{c} Upgraded at {b}", f"{b} lifts {c} to {to}, citing {reason}",
            f"{c} raised to {to} at {b} on {reason}", f"{b} turns bullish on {c}, upgrades to {to}",
            f"{c}: {b} upgrades to {to}", f"Upgrade: {b} moves {c} to {to} from {frm}", f"{b} bumps {c} up to {to}",
            f"{c} upgraded by {b} as {reason} improves outlook", f"{b} sees {reason} ahead, upgrades {c}",
            f"{c} gets {to} upgrade from {b}", f"{b} Upgrades {c} ({frm} -> {to})",
        )
        why = f"{b} raises its recommendation on {c} from {frm} to {to}, a rating upgrade."
    else:
        forms = (
            f"{b} Downgrades {c} to {to}", f"{b} Downgrades {c} From {frm} to {to}",
            f"{c} downgraded to {to} from {frm} at {b}", f"{c} Downgraded at {b}", f"{b} cuts {c} to {to}, citing {reason}",
            f"{c} lowered to {to} at {b} on {reason}", f"{b} turns cautious on {c}, downgrades to {to}",
            f"{c}: {b} downgrades to {to}", f"Downgrade: {b} moves {c} to {to} from {frm}", f"{b} cuts {c} to {to}",
            f"{c} downgraded by {b} on {reason} concerns", f"{b} sours on {c} amid {reason}, downgrades",
            f"{c} gets {to} downgrade from {b}", f"{b} {verb} {c} ({frm} -> {to})",
        )
        why = f"{b} lowers its recommendation on {c} from {frm} to {to}, a rating downgrade."
    if num:  # direction only from the rating scale
        h = _pick(rng, (f"{b} on {c}: {frm} -> {to}", f"{c} rating changed to {to} from {frm} at {b}",
                        f"{b} moves {c} to {to} from {frm}", f"{b} Changes {c} Rating to {to} from {frm}"))
        return h, why, "numeric"
    return _pick(rng, forms), why, "simple"


def g_initiation(rng: R, num: bool) -> tuple[str, str, str]:
    c, b, r = P.company(rng).ref(rng), _pick(rng, P.BROKERS), _rating(rng)
    reason = _pick(rng, REASONS_UP + REASONS_DOWN)
    forms = (
        f"{b} Initiates Coverage On {c} With {r} Rating", f"{b} starts {c} at {r}", f"{b} Initiates Coverage on {c} at {r}",
        f"{c} coverage initiated at {b} with {r}", f"{b} begins coverage of {c} with {r} rating",
        f"UPDATE: {b} Initiates Coverage on {c} on {reason.capitalize()}",
        f"{b} launches coverage of {c} with {r}", f"{c} initiated with a {r} at {b}", f"{b} assumes coverage of {c} at {r}",
        f"New coverage: {b} starts {c} at {r}, cites {reason}", f"{b} picks up coverage of {c}, rates it {r}",
        f"{c} gets new {r} rating from {b}",
    )
    return _pick(rng, forms), f"{b} starts covering {c} with a first {r} rating, a rating initiation.", "simple"


def g_reiterated(rng: R, num: bool) -> tuple[str, str, str]:
    c, b, r = P.company(rng).ref(rng), _pick(rng, P.BROKERS), _rating(rng)
    why = f"{b} keeps its existing {r} rating on {c} or comments without changing it, a rating reiterated."
    if num:
        a, c2 = P.person(rng), P.company(rng).ref(rng)
        forms = (f"{b} Reiterating {r} Rating On {c}", f"{b}'s {a} {r} On {c}, Sees {_pick(rng, REASONS_UP + REASONS_DOWN).capitalize()}",
                 f"{b}'s {a} Stays Cautious on {c}", f"{b} Likes {_pick(rng, SECTORS)} Names Into {P.quarter(rng)[0]}; {c}, {c2} Top Picks",
                 f"{b} Analyst Comments on {c} Following Investor Meeting", f"{b} Says {c} Remains Its Top Pick in {_pick(rng, SECTORS)}",
                 f"{b} Out Positive on {c} Ahead of {P.quarter(rng)[0]} Results")
        return _pick(rng, forms), why, "numeric"
    forms = (
        f"{b} Maintains {r} on {c}", f"{b} Reiterates {r} Rating on {c}", f"{b} reaffirms {r} on {c}",
        f"{c}: {b} keeps {r} rating", f"{b} stays {r} on {c} after investor meetings", f"{b} Reiterates {r} on {c}",
        f"{b} reiterates {r} on {c}, sees {_pct(rng, 10, 60)}% upside", f"{b} sticks with {r} call on {c}",
        f"{b} Maintains {r} on {c} Ahead of Earnings", f"{c} remains a top pick at {b}, reiterates {r}",
        f"{b} backs {r} rating on {c} despite selloff",
    )
    return _pick(rng, forms), why, "simple"


def g_price_target(rng: R, up: bool, num: bool) -> tuple[str, str, str]:
    c, b, r = P.company(rng).ref(rng), _pick(rng, P.BROKERS), _rating(rng)
    new, old = _pt_pair(rng, up)
    direction = "raises" if up else "lowers"
    why = f"{b} {direction} its price target on {c} to {new} from {old}, a price target {'raised' if up else 'lowered'}."
    if num:
        forms = (f"{b} Adjusts PT on {c} to {new} from {old}", f"{b} Maintains {r} on {c}, Price Target {new} (from {old})",
                 f"{c} PT {new} from {old} at {b}", f"{b} on {c}: target {old} -> {new}, keeps {r}",
                 f"{b} updates {c} price target to {new} from {old}", f"{c}: {b} sets PT at {new} vs {old} prior")
        return _pick(rng, forms), why, "numeric"
    if up:
        forms = (
            f"{b} Maintains {r} on {c}, Raises Price Target to {new}", f"{b} raises {c} price target to {new} from {old}",
            f"{c} PT raised to {new} at {b}", f"{b} Boosts {c} Price Target to {new}", f"{c} price target lifted to {new} by {b}",
            f"{c}: {b} hikes target to {new}, keeps {r}", f"{b} sees more upside in {c}, lifts target to {new}",
            f"{b} bumps {c} PT to {new} from {old}", f"{b} Raises {c} PT to {new}", f"{c} target raised at {b} to {new}",
            f"{b} Reiterates {r} on {c}, Raises PT to {new}",
        )
    else:
        forms = (
            f"{b} Maintains {r} on {c}, Lowers Price Target to {new}", f"{b} lowers {c} price target to {new} from {old}",
            f"{c} PT cut to {new} at {b}", f"{b} Trims {c} Price Target to {new}", f"{c} price target slashed to {new} by {b}",
            f"{c}: {b} cuts target to {new}, keeps {r}", f"{b} sees less upside in {c}, lowers target to {new}",
            f"{b} reduces {c} PT to {new} from {old}", f"{b} Lowers {c} PT to {new}", f"{c} target cut at {b} to {new}",
            f"{b} Reiterates {r} on {c}, Lowers PT to {new}",
        )
    return _pick(rng, forms), why, "simple"


def _eps_pair(rng: R, outcome: str) -> tuple[str, str, float, float]:
    est = round(rng.choice((rng.uniform(0.05, 1.5), rng.uniform(0.5, 6), rng.uniform(-0.8, -0.02))), 2)
    step = round(rng.uniform(0.01, max(0.02, abs(est) * 0.3)), 2)
    act = est + step if outcome == "beat" else est - step if outcome == "miss" else est
    act = round(act, 2)

    def f(v: float) -> str:
        return f"$({abs(v):.2f})" if v < 0 else f"${v:.2f}"

    return f(act), f(est), act, est


def g_earnings(rng: R, outcome: str, num: bool) -> tuple[str, str, str]:
    co = P.company(rng)
    c = co.ref(rng)
    q, ql = P.quarter(rng)
    eps, est, _, _ = _eps_pair(rng, outcome)
    rev_est = round(rng.uniform(0.2, 90), 2)
    rev_out = rng.choice(("beat", "miss", "inline")) if outcome != "inline" else "inline"
    rev = round(rev_est * (1 + rng.uniform(0.005, 0.08) * (1 if rev_out == "beat" else -1 if rev_out == "miss" else 0)), 2)
    unit = rng.choice(("B", "M")) if rev_est < 10 else "B"
    label = {"beat": "earnings beat", "miss": "earnings miss", "inline": "earnings in line"}[outcome]
    if num:
        forms = (f"{c} {q} EPS {eps} vs {est} Est.; Revenue ${rev}{unit} vs ${rev_est}{unit} Est.",
                 f"{c} {q} Adj. EPS {eps} vs. {est} Est.", f"{c} Reports {q} EPS {eps}, Consensus {est}",
                 f"{c} {q} adj EPS {eps}, est. {est}; sales ${rev}{unit}", f"BRIEF-{c} {q} Shr {eps} vs IBES est {est}")
        why = (f"{c} reports EPS of {eps} against a {est} estimate, which is an {label}."
               if outcome != "inline" else f"{c} reports EPS of {eps}, exactly the {est} estimate, so earnings in line.")
        return _pick(rng, forms), why, "numeric"
    d = _pick(rng, DRIVERS_UP if outcome == "beat" else DRIVERS_DOWN)
    if outcome == "beat":
        forms = (
            f"{c} {q} EPS {eps} Beats {est} Estimate, Sales ${rev}{unit} vs ${rev_est}{unit} Est.",
            f"{c} beats {ql} profit estimates on {d}", f"{c} tops {ql} estimates as {d} lifts results",
            f"{c} {ql} earnings top Wall Street expectations", f"{c} posts {ql} profit above expectations",
            f"{c} {ql} profit jumps {_pct(rng, 5, 80)}%, beats forecasts", f"{c} Q{rng.randint(1, 4)} results crush estimates",
            f"{c} earnings surpass consensus on {d}", f"{c} reports better-than-expected {ql} earnings",
            f"{c} {q} EPS {eps} Beats {est} Estimate",
        )
    elif outcome == "miss":
        forms = (
            f"{c} {q} EPS {eps} Misses {est} Estimate, Sales ${rev}{unit} vs ${rev_est}{unit} Est.",
            f"{c} misses {ql} profit estimates on {d}", f"{c} falls short of {ql} estimates as {d} weighs",
            f"{c} {ql} earnings miss Wall Street expectations", f"{c} posts {ql} profit below expectations",
            f"{c} {ql} results disappoint, lag forecasts", f"{c} reports weaker-than-expected {ql} earnings",
            f"{c} earnings trail consensus amid {d}", f"{c} {q} EPS {eps} Misses {est} Estimate",
            f"{c} {ql} profit undershoots estimates",
        )
    else:
        forms = (
            f"{c} {q} EPS {eps} In-Line", f"{c} Reports {q} Results", f"{c} Reports {q} EPS of {eps}, Revenue ${rev}{unit}",
            f"{c} {ql} profit matches estimates", f"{c} {ql} earnings in line with expectations",
            f"{c} posts {ql} results", f"{c} {ql} revenue of ${rev}{unit} meets forecasts", f"BRIEF-{c} Reports {q} Results",
            f"{c} reports {ql} net income of ${rng.randint(5, 900)}M",
        )
    why = {"beat": f"{c}'s {ql} results came in above analyst estimates, an earnings beat.",
           "miss": f"{c}'s {ql} results fell below analyst estimates, an earnings miss.",
           "inline": f"{c} reports {ql} results that match estimates or carry no comparison, earnings in line."}[outcome]
    return _pick(rng, forms), why, "simple"


def _range(rng: R, lo: float, hi: float, unit: str = "") -> tuple[float, float]:
    a = round(rng.uniform(lo, hi), 2)
    return a, round(a * rng.uniform(1.02, 1.1), 2)


def g_guidance(rng: R, direction: str, num: bool) -> tuple[str, str, str]:
    c = P.company(rng).ref(rng)
    fy = P.fiscal_year(rng)
    a, b = _range(rng, 0.5, 12)
    if direction == "up":
        k = rng.uniform(1.02, 1.15)
    elif direction == "down":
        k = rng.uniform(0.8, 0.98)
    else:
        k = 1.0
    na, nb = round(a * k, 2), round(b * k, 2)
    metric = rng.choice(("EPS", "Adj. EPS", "sales", "revenue"))
    unit = "B" if metric in ("sales", "revenue") else ""
    label = {"up": "guidance raised", "down": "guidance lowered", "flat": "guidance reaffirmed"}[direction]
    if num:
        forms = (f"{c} Sees {fy} {metric} ${na}{unit}-${nb}{unit}, Prior ${a}{unit}-${b}{unit}",
                 f"{c} sees {fy} {metric} ${na}{unit}-${nb}{unit} (prior view ${a}{unit}-${b}{unit})",
                 f"{c} Updates {fy} {metric} Guidance to ${na}{unit}-${nb}{unit} From ${a}{unit}-${b}{unit}",
                 f"{c} {fy} {metric} outlook now ${na}{unit}-${nb}{unit} vs ${a}{unit}-${b}{unit} before")
        why = f"{c}'s new {fy} {metric} range ${na}-${nb} compares with a prior ${a}-${b}, so {label}."
        return _pick(rng, forms), why, "numeric"
    d = _pick(rng, DRIVERS_UP if direction == "up" else DRIVERS_DOWN)
    if direction == "up":
        forms = (f"{c} raises {fy} outlook", f"{c} lifts full-year profit forecast on {d}",
                 f"{c} boosts {fy} revenue guidance to ${na}B-${nb}B", f"{c} Raises {fy} {metric} Guidance From ${a}-${b} to ${na}-${nb}",
                 f"{c} Ups {fy} Sales View", f"{c} hikes annual forecast as {d} persists", f"{c} raises guidance after strong quarter",
                 f"{c} lifts {fy} targets", f"{c} now expects higher {fy} {metric}", f"{c} Raises {fy} Guidance")
    elif direction == "down":
        forms = (f"{c} cuts {fy} outlook", f"{c} lowers full-year profit forecast on {d}", f"{c} issues profit warning",
                 f"{c} slashes {fy} revenue guidance to ${na}B-${nb}B", f"{c} Lowers {fy} {metric} Guidance From ${a}-${b} to ${na}-${nb}",
                 f"{c} trims annual forecast as {d} bites", f"{c} warns {fy} profit will fall short", f"{c} Cuts {fy} Sales View",
                 f"{c} now expects lower {fy} {metric}", f"{c} Lowers {fy} Guidance")
    else:
        forms = (f"{c} reaffirms {fy} guidance", f"{c} backs full-year outlook", f"{c} Affirms {fy} {metric} Guidance of ${a}-${b}",
                 f"{c} maintains annual forecast despite {d}", f"{c} sticks to {fy} targets", f"{c} Reiterates {fy} Outlook",
                 f"{c} confirms {fy} guidance", f"{c} keeps full-year forecast unchanged", f"{c} stands by {fy} {metric} view")
    why = {"up": f"{c} raises its own {fy} outlook, guidance raised.",
           "down": f"{c} lowers its own {fy} outlook, guidance lowered.",
           "flat": f"{c} keeps its {fy} outlook unchanged, guidance reaffirmed."}[direction]
    return _pick(rng, forms), why, "simple"


def g_exec(rng: R, num: bool) -> tuple[str, str, str]:
    c, p, p2, role = P.company(rng).ref(rng), P.person(rng), P.person(rng), _pick(rng, P.EXEC_ROLES)
    m = _pick(rng, P.MONTHS)
    forms = (f"{c} names {p} as {role}", f"{c} {role} {p} to step down", f"{c} appoints {p} {role}, effective {m}",
             f"{c} {role} {p} resigns", f"{c} announces {role} transition", f"{c} taps {p} as new {role}",
             f"{c} ousts {role} {p}", f"{p} to succeed {p2} as {c} {role}", f"{c} {role} departs after {rng.randint(2, 15)} years",
             f"{c} promotes {p} to {role}", f"{c} Announces Appointment of {p} as {role}", f"{c} {role} {p} to retire in {m}",
             f"{c} hires {p2} from rival as {role}", f"{c} says {role} {p} has left the company")
    return _pick(rng, forms), f"{c} changes a named executive ({role}), an executive change.", "simple"


def g_layoffs(rng: R, num: bool) -> tuple[str, str, str]:
    c, n, pct = P.company(rng).ref(rng), rng.choice((rng.randint(50, 950), rng.randint(1, 30) * 500)), _pct(rng, 2, 25)
    unit = _pick(rng, UNITS)
    forms = (f"{c} to cut {n:,} jobs", f"{c} lays off {pct}% of workforce", f"{c} announces {n:,} job cuts in restructuring",
             f"{c} to eliminate {n:,} positions", f"{c} trims staff by {pct}%", f"{c} plans layoffs at {unit} unit",
             f"{c} to shed {n:,} jobs as demand slows", f"{c} slashes workforce by {pct}%",
             f"{c} Announces Reduction in Force of About {n:,} Employees", f"{c} axes {n:,} roles", f"{c} begins new round of layoffs",
             f"{c} to close {_pick(rng, P.CITIES)} plant, cutting {n:,} jobs", f"{c} offers buyouts to {n:,} workers")
    return _pick(rng, forms), f"{c} reduces its workforce, which is layoffs.", "simple"


def g_strike(rng: R, num: bool) -> tuple[str, str, str]:
    c, u, city, n = P.company(rng).ref(rng), _pick(rng, P.UNIONS), _pick(rng, P.CITIES), rng.randint(2, 60)
    forms = (f"{u} workers strike at {c}", f"{c} workers walk off the job in {city}", f"{u} threatens strike at {c}",
             f"{c}, {u} end strike after {n}-day walkout", f"Strike at {c} {city} plant enters day {n}",
             f"{u} members vote to authorize strike at {c}", f"{c} hit by strike at {city} factory",
             f"Thousands of {c} workers go on strike over pay", f"{c} strike halts production in {city}",
             f"{u} calls walkout at {c}", f"{c} faces {n}-hour strike by {u}")
    return _pick(rng, forms), f"Workers at {c} strike or threaten to, a labor strike.", "simple"


def _two(rng: R) -> tuple[str, str]:
    a = P.company(rng).ref(rng)
    b = P.company(rng).ref(rng)
    while b == a:
        b = P.company(rng).ref(rng)
    return a, b


def g_acquisition(rng: R, num: bool) -> tuple[str, str, str]:
    c, c2 = _two(rng)
    m, ps = P.big_money(rng), _fmt_price(_price(rng))
    forms = (f"{c} to acquire {c2} for {m}", f"{c} agrees to buy {c2} in {m} deal", f"{c} to buy {c2}'s {_pick(rng, UNITS)} business for {m}",
             f"{c} Announces Acquisition of {c2}", f"{c} makes {m} bid for {c2}", f"{c} offers {ps}/share for {c2}",
             f"{c} takes {_pct(rng, 5, 49)}% stake in {c2}", f"{c} completes acquisition of {c2}",
             f"{c2} agrees to be acquired by {c} for {ps} per share", f"{c} in talks to buy {c2} - sources",
             f"{c} snaps up {c2} for {m}", f"{c} Enters Definitive Agreement to Acquire {c2}", f"{c} clinches {m} takeover of {c2}")
    return _pick(rng, forms), f"{c} agrees to buy or bids for {c2}, an acquisition.", "simple"


def g_merger(rng: R, num: bool) -> tuple[str, str, str]:
    c, c2 = _two(rng)
    m = P.big_money(rng)
    forms = (f"{c} and {c2} to merge in all-stock deal", f"{c}, {c2} agree to combine in {m} merger of equals",
             f"{c} and {c2} announce merger", f"{c} and {c2} complete merger", f"{c}, {c2} to combine in {m} all-stock merger",
             f"{c} and {c2} agree to merge, creating {m} group", f"{c}-{c2} merger to create sector giant",
             f"{c} and {c2} Announce Merger of Equals", f"{c}, {c2} unveil plan to merge")
    return _pick(rng, forms), f"{c} and {c2} combine without either described as buyer, a merger.", "simple"


def g_terminated(rng: R, num: bool) -> tuple[str, str, str]:
    c, c2 = _two(rng)
    m = P.big_money(rng)
    forms = (f"{c} terminates deal to buy {c2}", f"{c}-{c2} merger called off", f"{c} walks away from {c2} acquisition",
             f"{c} abandons {m} bid for {c2}", f"{c} and {c2} scrap {m} merger", f"{c} ends merger agreement with {c2}",
             f"{c2} terminates agreement to be acquired by {c}", f"{c}'s takeover of {c2} collapses",
             f"{c} drops pursuit of {c2}", f"{c} Announces Termination of Merger Agreement With {c2}")
    return _pick(rng, forms), f"The deal between {c} and {c2} is called off, deal terminated.", "simple"


def g_divestiture(rng: R, num: bool) -> tuple[str, str, str]:
    c, c2 = _two(rng)
    u, m = _pick(rng, UNITS), P.big_money(rng)
    forms = (f"{c} to sell {u} unit to {c2} for {m}", f"{c} to spin off {u} business", f"{c} divests {u} division",
             f"{c} agrees sale of {u} arm for {m}", f"{c} completes sale of {u} business to {c2}",
             f"{c} to offload {u} assets for {m}", f"{c} sells stake in {u} unit", f"{c} Announces Spin-Off of {u} Segment",
             f"{c} to carve out {u} business in IPO", f"{c} sheds {u} operations in {m} sale")
    return _pick(rng, forms), f"{c} sells or spins off its {u} business, a divestiture.", "simple"


def _div_pair(rng: R, kind: str) -> tuple[str, str, str]:
    old = round(rng.uniform(0.03, 2.5), 2)
    if kind == "up":
        new = round(old * rng.uniform(1.02, 1.3), 2) or old + 0.01
        new = new if new > old else round(old + 0.01, 2)
    elif kind == "down":
        new = round(old * rng.uniform(0.3, 0.95), 2)
        new = new if new < old else round(old - 0.01, 2)
    else:
        new = old
    pct = f"{abs(new / old - 1) * 100:.0f}"
    return f"${new:.2f}", f"${old:.2f}", pct


def g_dividend(rng: R, kind: str, num: bool) -> tuple[str, str, str]:
    c = P.company(rng).ref(rng)
    new, old, pct = _div_pair(rng, kind)
    m, day = _pick(rng, P.MONTHS), rng.randint(1, 28)
    label = {"up": "dividend raised", "down": "dividend cut", "flat": "dividend declared"}[kind]
    if num:
        forms = (f"{c} Declares {new} Dividend, Prior {old}", f"{c} declares quarterly dividend of {new}/shr vs {old} prior",
                 f"{c} sets quarterly payout at {new} per share (previous {old})", f"{c} Q div {new} vs {old}")
        return _pick(rng, forms), f"{c}'s new dividend {new} compares with {old} before, so {label}.", "numeric"
    if kind == "up":
        forms = (f"{c} raises quarterly dividend {pct}% to {new}/share", f"{c} hikes dividend", f"{c} boosts payout to {new} per share",
                 f"{c} increases dividend by {pct}%", f"{c} Declares Quarterly Dividend of {new} per Share, an Increase of {pct}%",
                 f"{c} lifts quarterly dividend to {new}", f"{c} Raises Dividend to {new}", f"{c} ups payout for {rng.randint(2, 60)}th straight year")
    elif kind == "down":
        forms = (f"{c} cuts dividend to {new}", f"{c} suspends dividend", f"{c} slashes quarterly payout",
                 f"{c} reduces dividend {pct}%", f"{c} halts dividend to preserve cash", f"{c} Lowers Quarterly Dividend to {new}",
                 f"{c} trims payout to {new} a share", f"{c} scraps dividend amid losses")
    else:
        forms = (f"{c} Declares Quarterly Dividend of {new} per Share", f"{c} declares regular {new} dividend",
                 f"{c} Declares {new} Dividend", f"{c} Board Declares Quarterly Cash Dividend",
                 f"{c} maintains quarterly dividend at {new}", f"{c} declares {new}/shr dividend; payable {m} {day}",
                 f"{c} Declares {new} Dividend, In Line With Prior", f"{c} announces monthly distribution of {new}")
    why = {"up": f"{c} increases its regular dividend, dividend raised.",
           "down": f"{c} reduces or suspends its dividend, dividend cut.",
           "flat": f"{c} declares a regular dividend at an unchanged amount, dividend declared."}[kind]
    return _pick(rng, forms), why, "simple"


def g_buyback(rng: R, num: bool) -> tuple[str, str, str]:
    c, m, n = P.company(rng).ref(rng), P.big_money(rng), rng.randint(1, 80)
    forms = (f"{c} announces {m} share buyback", f"{c} authorizes new {m} stock repurchase program",
             f"{c} board approves {m} buyback", f"{c} expands buyback by {m}", f"{c} to repurchase up to {n} million shares",
             f"{c} unveils {m} buyback", f"{c} Announces {m} Share Repurchase Authorization",
             f"{c} launches accelerated share repurchase of {m}", f"{c} adds {m} to buyback plan")
    return _pick(rng, forms), f"{c} authorises or expands a share repurchase, a share buyback.", "simple"


def g_probe(rng: R, num: bool) -> tuple[str, str, str]:
    c, reg, iss = P.company(rng).ref(rng), _pick(rng, P.REGULATORS), _pick(rng, ISSUES)
    forms = (f"{reg} opens probe into {c}", f"{reg} investigating {c} over {iss}", f"{c} receives subpoena from {reg}",
             f"{reg} sues {c} over {iss}", f"{c} faces {reg} inquiry into {iss}", f"{reg} launches investigation of {c}",
             f"{c} discloses {reg} investigation into {iss}", f"Shareholders file class action against {c} over {iss}",
             f"{c} under scrutiny as {reg} examines {iss}", f"{reg} raids {c} offices in {iss} probe",
             f"{c} Says {reg} Is Reviewing {iss.capitalize()}")
    return _pick(rng, forms), f"{reg} opens an investigation or suit against {c}, a regulatory probe.", "simple"


def g_settlement(rng: R, num: bool) -> tuple[str, str, str]:
    c, reg, iss, m = P.company(rng).ref(rng), _pick(rng, P.REGULATORS), _pick(rng, ISSUES), P.big_money(rng)
    forms = (f"{c} to pay {m} to settle {reg} charges", f"{c} settles {iss} lawsuit for {m}", f"{c} fined {m} by {reg}",
             f"Court rules against {c} in {iss} case", f"{c} agrees {m} settlement with {reg}",
             f"{c} reaches settlement in {iss} litigation", f"Judge orders {c} to pay {m}", f"{c} wins dismissal of {iss} lawsuit",
             f"{reg} fines {c} {m} over {iss}", f"Jury finds {c} liable, awards {m}", f"{c} resolves {reg} probe with {m} payment")
    return _pick(rng, forms), f"{c}'s case is settled, fined or ruled on, a legal settlement.", "simple"


def g_move(rng: R, up: bool, num: bool) -> tuple[str, str, str]:
    c, pct, day = P.company(rng).ref(rng), _pct(rng, 1, 40), _pick(rng, P.WEEKDAYS)
    n = rng.randint(3, 9)
    if up:
        forms = (f"{c} shares jump {pct}%", f"{c} stock rises {pct}% in premarket", f"{c} hits record high",
                 f"{c} Shares Are Trading Higher", f"Why Is {c} Stock Trading Higher Today?", f"{c} rallies to 52-week high",
                 f"{c} surges {pct}% in heavy volume", f"{c} stock climbs {day}, outperforms market", f"{c} up {pct}% on {day}",
                 f"{c} extends gains for {n}th straight session", f"{c} soars {pct}% as investors pile in",
                 f"{c} shares rebound after {n}-day losing streak", f"{c} stock pops in late trading")
        why = f"The headline is only about {c}'s shares going up, shares rise."
    else:
        forms = (f"{c} shares fall {pct}%", f"{c} stock slides {pct}% in premarket", f"{c} hits 52-week low",
                 f"{c} Shares Are Trading Lower", f"Why Is {c} Stock Trading Lower Today?", f"{c} tumbles to multi-year low",
                 f"{c} plunges {pct}% in heavy volume", f"{c} stock drops {day}, underperforms market", f"{c} down {pct}% on {day}",
                 f"{c} extends losses for {n}th straight session", f"{c} sinks {pct}% as investors flee",
                 f"{c} shares slump, erasing {day}'s gains", f"{c} stock tanks in late trading")
        why = f"The headline is only about {c}'s shares going down, shares fall."
    return _pick(rng, forms), why, "simple"


def _credit_pair(rng: R, up: bool) -> tuple[str, str, str]:
    ag = _pick(rng, P.AGENCIES)
    scale = P.MOODYS_SCALE if ag.startswith("Moody") else P.SP_SCALE
    i = rng.randrange(1, len(scale) - 1)
    j = i - rng.randint(1, min(2, i)) if up else min(len(scale) - 1, i + rng.randint(1, 2))
    return ag, scale[j], scale[i]


def g_credit(rng: R, up: bool, num: bool) -> tuple[str, str, str]:
    c = P.company(rng).ref(rng)
    ag, new, old = _credit_pair(rng, up)
    if num:
        h = _pick(rng, (f"{ag}: {c} rated {new} from {old}", f"{ag} Rates {c} '{new}' (from '{old}')",
                        f"{c} issuer rating {old} -> {new} at {ag}"))
        return h, f"{ag} moves {c}'s credit rating from {old} to {new}, a credit {'upgrade' if up else 'downgrade'}.", "numeric"
    if up:
        forms = (f"{ag} upgrades {c} to {new}", f"{ag} raises {c} rating to {new} from {old}",
                 f"{ag} Upgrades {c} to '{new}'; Outlook Stable", f"{ag} revises {c} outlook to positive",
                 f"{c} lifted to investment grade by {ag}", f"{ag} Affirms {c} at '{old}'; Outlook Revised to Positive",
                 f"{ag} lifts {c}'s credit rating on lower leverage", f"{c} debt upgraded by {ag}")
        why = f"{ag}, a credit rating agency, raises {c}'s rating or outlook, a credit upgrade."
    else:
        forms = (f"{ag} downgrades {c} to {new}", f"{ag} cuts {c} to junk", f"{ag} Places {c} on Rating Watch Negative",
                 f"{ag} lowers {c} outlook to negative", f"{ag} cuts {c}'s credit rating on debt concerns",
                 f"{ag} places {c} ratings on review for downgrade", f"{ag} Downgrades {c} to '{new}'; Outlook Negative",
                 f"{c} debt downgraded by {ag}")
        why = f"{ag}, a credit rating agency, lowers {c}'s rating or outlook, a credit downgrade."
    return _pick(rng, forms), why, "simple"


def g_launch(rng: R, num: bool) -> tuple[str, str, str]:
    co = P.company(rng)
    c, prod, city = co.ref(rng), co.product(rng), _pick(rng, P.CITIES)
    forms = (f"{c} launches {prod}", f"{c} unveils new {prod}", f"{c} introduces {prod} for small businesses",
             f"{c} rolls out {prod} in {city}", f"{c} debuts {prod}", f"{c} Announces General Availability of {prod}",
             f"{c} expands {prod} to {rng.randint(3, 40)} new markets", f"{c} releases next-generation {prod}",
             f"{c} Introduces New {prod.title()}", f"{c} takes wraps off {prod}")
    return _pick(rng, forms), f"{c} launches or unveils a {prod}, a product launch.", "simple"


def g_contract(rng: R, num: bool) -> tuple[str, str, str]:
    c, c2 = _two(rng)
    cust, m, n = _pick(rng, CUSTOMERS), P.big_money(rng), rng.randint(2, 300)
    forms = (f"{c} wins {m} contract from {cust}", f"{c} awarded {m} {cust} contract", f"{c} secures order for {n} units from {c2}",
             f"{c} lands multi-year deal with {c2}", f"{c} Receives {m} Order", f"{c} selected by {cust} for {m} program",
             f"{c} beats rivals to win {cust} deal", f"{c} Awarded {m} Contract Modification", f"{c} books {m} order from {c2}",
             f"{c2} picks {c} as supplier in {m} deal")
    return _pick(rng, forms), f"{c} wins a contract or order from a customer, a contract win.", "simple"


def g_partnership(rng: R, num: bool) -> tuple[str, str, str]:
    c, c2 = _two(rng)
    t = _pick(rng, TOPICS)
    forms = (f"{c} partners with {c2} on {t}", f"{c} and {c2} form {t} joint venture", f"{c}, {c2} sign licensing agreement for {t}",
             f"{c} teams up with {c2} to develop {t} products", f"{c} and {c2} announce strategic alliance",
             f"{c} expands collaboration with {c2}", f"{c} strikes {t} partnership with {c2}", f"{c} and {c2} ink {t} pact",
             f"{c} Announces Collaboration With {c2} on {t}", f"{c} joins forces with {c2} in {t}")
    return _pick(rng, forms), f"{c} and {c2} agree to collaborate, a partnership.", "simple"


def g_approval(rng: R, ok: bool, num: bool) -> tuple[str, str, str]:
    co = P.company(rng)
    while co.sector not in ("pharma", "medtech", "aero", "tech") and rng.random() < 0.85:
        co = P.company(rng)
    c, prod = co.ref(rng), co.product(rng)
    ap = "FAA" if co.sector == "aero" else "FCC" if co.sector == "tech" else _pick(rng, P.APPROVERS[:8])
    if ok:
        forms = (f"{ap} approves {c}'s {prod}", f"{c} wins {ap} approval for {prod}", f"{c} receives {ap} approval for {prod}",
                 f"{ap} clears {c}'s {prod}", f"{c} Announces {ap} Clearance of {prod}", f"{c}'s {prod} gets {ap} nod",
                 f"{c} gets emergency use authorization for {prod}", f"{ap} grants approval to {c} {prod}",
                 f"{c} secures {ap} green light for {prod}")
        why = f"{ap}, a regulator, approves {c}'s {prod}, a product approval."
    else:
        forms = (f"{ap} rejects {c}'s {prod}", f"{c} receives complete response letter from {ap} for {prod}",
                 f"{ap} declines to approve {c} {prod}", f"{ap} delays decision on {c}'s {prod}",
                 f"{c} says {ap} extends review of {prod}", f"{ap} advisers vote against {c}'s {prod}",
                 f"{c}'s {prod} rebuffed by {ap}", f"{c} Receives CRL for {prod}")
        why = f"{ap} rejects or delays {c}'s {prod}, an approval rejected."
    return _pick(rng, forms), why, "simple"


# ----------------------------------------------------------------------------------------------
# OTHER: the long tail of wire copy. Many borrow the vocabulary of real classes.


def g_other(rng: R, borrow: bool) -> tuple[str, str, str]:
    co = P.company(rng)
    c, c2 = co.ref(rng), P.company(rng).ref(rng)
    tk = [P.company(rng, 0.0).ticker for _ in range(4)]
    n, pct, day, m = rng.randint(3, 15), _pct(rng, 0.1, 4), _pick(rng, P.WEEKDAYS), _pick(rng, P.MONTHS)
    q, ql = P.quarter(rng)
    sub: dict[str, tuple[str, ...]] = {
        "market wrap": (f"Stocks close higher as {_pick(rng, MACRO)}; Dow up {rng.randint(30, 900)} points",
                        f"Wall Street ends lower on {_pick(rng, MACRO)}", "European shares edge up, banks lead",
                        "Nasdaq hits record as tech rally extends", "US stocks mixed ahead of Fed decision",
                        f"STOCKS-S&P 500 slips {pct}% as {_pick(rng, MACRO)}", f"GLOBAL MARKETS-Asian shares slip on {_pick(rng, MACRO)}",
                        f"Dow futures rise {pct}% ahead of jobs data", "FTSE 100 closes flat; miners drag",
                        f"Stock market today: Dow, S&P 500 waver on {_pick(rng, MACRO)}"),
        "stock list": (f"{n} Stocks Moving In {day}'s Pre-Market Session", f"Stocks To Watch: {tk[0]}, {tk[1]}, {tk[2]}",
                       f"Top Gainers and Losers: {tk[0]}, {tk[1]}, {tk[2]}", f"Mid-Day Movers: {tk[0]}, {tk[1]}, {tk[3]}",
                       f"{n} Health Care Stocks Moving In {day}'s After-Market Session", f"Biggest stock movers today: {tk[0]}, {tk[2]} and more",
                       f"{n} Stocks Hitting 52-Week Highs on {day}"),
        "commentary": (f"Is {c} Stock a Buy Now?", f"3 Reasons to Buy {c}", f"Why I'm Not Selling {c}",
                       f"{c}: Valuation Still Looks Stretched", f"Opinion: {c}'s {_pick(rng, TOPICS)} bet is risky",
                       f"Should You Buy {c} Before Earnings?", f"Here's What Wall Street Thinks of {c}",
                       f"{c} vs {c2}: Which Stock Is the Better Buy?", f"ANALYSIS-{c}'s {_pick(rng, TOPICS)} push faces hurdles",
                       f"What's Going On With {c} Stock?"),
        "interview": (f"{c} CEO says {_pick(rng, TOPICS)} demand remains strong", f"{c} CFO: no slowdown in {_pick(rng, TOPICS)}",
                      f"INTERVIEW-{c} chief sees growth in {_pick(rng, TOPICS)}", f"{P.person(rng)} of {c} on the future of {_pick(rng, TOPICS)}",
                      f"{c} boss says tariffs are manageable", f"{c} executive talks {_pick(rng, TOPICS)} strategy at {_pick(rng, CONFS)}"),
        "offering": (f"{c} prices {P.big_money(rng)} senior notes offering", f"{c} Prices Offering of {rng.randint(2, 9)}.{rng.randint(0, 9)}% Senior Notes Due {rng.randint(2027, 2050)}",
                     f"{c} files for IPO", f"{c} raises {P.big_money(rng)} in Series {_pick(rng, 'BCDE')} funding",
                     f"{c} launches {P.big_money(rng)} convertible bond offering", f"{c} Prices Upsized {P.big_money(rng)} Notes Offering",
                     f"{c} sets IPO terms, seeks up to {P.big_money(rng)}"),
        "macro": (f"US jobless claims fall to {rng.randint(180, 260)},000", f"US factory orders rise {pct}% in {m}",
                  f"US CPI rises {pct}% in {m}", "Oil prices rise as OPEC+ extends output cuts",
                  f"China's exports beat forecasts in {m}", "US GDP growth beats expectations", "Treasury yields climb after strong retail sales",
                  "Dollar slips as traders price in rate cut", f"Housing starts drop {pct}% in {m}",
                  f"Euro zone inflation slows to {pct}% in {m}", "Gold hits record high as dollar weakens"),
        "preview": (f"{c} to report {ql} earnings on {day}", f"{c} {q} Earnings Preview: What to Expect",
                    f"{c} sets date for {q} results conference call", f"Earnings Scheduled For {day}: {tk[0]}, {tk[1]}, {tk[2]}",
                    f"Analysts expect {c} to post {ql} EPS of ${rng.uniform(0.1, 4):.2f}", f"{c} Q{rng.randint(1, 4)} earnings: what Wall Street expects"),
        "corporate": (f"{c} to present at {_pick(rng, CONFS)}", f"{c} announces {rng.randint(2, 10)}-for-1 stock split",
                      f"{c} to join S&P 500", f"{c} changes name to {P.synthetic_company(rng).name}",
                      f"{c} to hold annual shareholder meeting on {m} {rng.randint(1, 28)}",
                      f"{c} short interest rises {pct}%",
                      f"{c} moves headquarters to {_pick(rng, P.CITIES)}", f"{c} completes redemption of notes due {rng.randint(2026, 2035)}",
                      f"{c} to webcast investor day"),
    }
    borrowed = (
        f"{c} sets {rng.randint(2028, 2050)} emissions target", f"{c} targets {P.big_money(rng)} in cost savings",
        f"{c} cuts prices on {co.product(rng)}", f"{c} raises prices on {co.product(rng)}", f"{c} upgrades its data centers",
        f"{c} probes cause of {_pick(rng, ('outage', 'fire', 'data breach', 'recall'))}", f"{c} strikes back at short seller report",
        f"{n} Analyst Upgrades To Watch This Week",
        f"{n} Dividend Stocks To Buy Now", "Which Stocks Could Beat Earnings This Week?", f"{c} launches {P.big_money(rng)} bond sale",
        f"{c} CEO calls for cuts in interest rates",
        f"{c} settles into trading range ahead of earnings", f"{c} to report {ql} results; guidance in focus",
        f"Moody's says outlook for {_pick(rng, ('US banks', 'European autos', 'Asian sovereigns', 'utilities'))} stable",
        f"{c} annual meeting: shareholders approve director slate",
        f"Union leaders meet {c} management for talks", f"Price target talk: where analysts see {c} heading",
    )
    if borrow:
        return _pick(rng, borrowed), "The headline borrows event vocabulary but reports no classed company event, so other.", "distractor"
    kind = _pick(rng, tuple(sub))
    return _pick(rng, sub[kind]), f"The headline is {'an' if kind[0] in 'aeiou' else 'a'} {kind} item with no classed company event, so other.", f"other:{kind}"


# ----------------------------------------------------------------------------------------------
# Registry: label -> generator(rng, num) -> (headline, rationale, kind)

SIMPLE: dict[str, Callable[[R, bool], tuple[str, str, str]]] = {
    "rating upgrade": lambda r, n: g_rating_change(r, True, n),
    "rating downgrade": lambda r, n: g_rating_change(r, False, n),
    "rating initiation": g_initiation,
    "rating reiterated": g_reiterated,
    "price target raised": lambda r, n: g_price_target(r, True, n),
    "price target lowered": lambda r, n: g_price_target(r, False, n),
    "earnings beat": lambda r, n: g_earnings(r, "beat", n),
    "earnings miss": lambda r, n: g_earnings(r, "miss", n),
    "earnings in line": lambda r, n: g_earnings(r, "inline", n),
    "executive change": g_exec,
    "layoffs": g_layoffs,
    "labor strike": g_strike,
    "acquisition": g_acquisition,
    "merger": g_merger,
    "deal terminated": g_terminated,
    "divestiture": g_divestiture,
    "dividend raised": lambda r, n: g_dividend(r, "up", n),
    "dividend cut": lambda r, n: g_dividend(r, "down", n),
    "dividend declared": lambda r, n: g_dividend(r, "flat", n),
    "share buyback": g_buyback,
    "regulatory probe": g_probe,
    "legal settlement": g_settlement,
    "shares rise": lambda r, n: g_move(r, True, n),
    "shares fall": lambda r, n: g_move(r, False, n),
    "credit upgrade": lambda r, n: g_credit(r, True, n),
    "credit downgrade": lambda r, n: g_credit(r, False, n),
    "product launch": g_launch,
    "contract win": g_contract,
    "partnership": g_partnership,
    "product approval": lambda r, n: g_approval(r, True, n),
    "approval rejected": lambda r, n: g_approval(r, False, n),
    "guidance raised": lambda r, n: g_guidance(r, "up", n),
    "guidance lowered": lambda r, n: g_guidance(r, "down", n),
    "guidance reaffirmed": lambda r, n: g_guidance(r, "flat", n),
    "other": lambda r, n: g_other(r, False),
}
NUMERIC = {"rating upgrade", "rating downgrade", "rating reiterated", "price target raised", "price target lowered",
           "earnings beat", "earnings miss", "earnings in line", "guidance raised", "guidance lowered",
           "guidance reaffirmed", "dividend raised", "dividend cut", "dividend declared", "credit upgrade",
           "credit downgrade"}
assert set(SIMPLE) == set(TASK.label_names), set(TASK.label_names) ^ set(SIMPLE)


# Multi-event headlines: (events reported, builder). The label is TASK.resolve(events), so the
# precedence rules of the finheadlines task decide, never the template author.
def _m(rng: R) -> dict:
    co = P.company(rng)
    c2 = P.company(rng).ref(rng)
    up_new, up_old = _pt_pair(rng, True)
    dn_new, _ = _pt_pair(rng, False)
    frm_u, to_u = _tier_pair(rng, True)
    frm_d, to_d = _tier_pair(rng, False)
    return dict(c=co.ref(rng), c2=c2, b=_pick(rng, P.BROKERS), q=P.quarter(rng)[1], fy=P.fiscal_year(rng),
                pct=_pct(rng, 2, 30), m=P.big_money(rng), n=rng.randint(1, 30) * 100, p=P.person(rng),
                role=_pick(rng, P.EXEC_ROLES), reg=_pick(rng, P.REGULATORS), iss=_pick(rng, ISSUES),
                ag=_pick(rng, P.AGENCIES), prod=co.product(rng), u=_pick(rng, P.UNIONS), up=up_new, dn=dn_new,
                to_u=to_u, to_d=to_d, r=_rating(rng), d=f"${rng.uniform(0.05, 2):.2f}", unit=_pick(rng, UNITS))


MULTI: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("rating upgrade", "price target raised"),
     ("{b} Upgrades {c} to {to_u}, Raises Price Target to {up}", "{c} upgraded to {to_u} at {b}; PT lifted to {up}",
      "{b} upgrades {c}, boosts target to {up}")),
    (("rating downgrade", "price target lowered"),
     ("{b} Downgrades {c} to {to_d}, Lowers Price Target to {dn}", "{c} cut to {to_d} at {b}, PT trimmed to {dn}",
      "{b} downgrades {c} and slashes target to {dn}")),
    (("rating downgrade", "price target raised"),
     ("{b} Downgrades {c} to {to_d}, Raises Price Target to {up}", "{c} downgraded to {to_d} at {b} on valuation despite PT hike to {up}")),
    (("rating downgrade", "earnings miss"),
     ("{c} downgraded to {to_d} at {b} after {q} miss", "{b} cuts {c} to {to_d} following disappointing {q} results")),
    (("rating upgrade", "earnings beat"),
     ("{b} upgrades {c} to {to_u} after {q} beat", "{c} raised to {to_u} at {b} on strong {q} results")),
    (("price target raised", "earnings beat"),
     ("{b} lifts {c} PT to {up} after strong {q} results", "{c} PT raised to {up} at {b} following {q} beat")),
    (("price target lowered", "earnings miss"),
     ("{b} lowers {c} PT to {dn} after {q} miss", "{c} target cut to {dn} at {b} on weak {q} results")),
    (("price target lowered", "guidance lowered"),
     ("{b} trims {c} PT to {dn} after outlook cut", "{c} PT lowered to {dn} at {b} as company cuts {fy} guidance")),
    (("guidance raised", "earnings beat"),
     ("{c} {q} EPS beats; raises {fy} outlook", "{c} tops {q} estimates, lifts full-year forecast",
      "UPDATE 2-{c} beats estimates and raises annual guidance")),
    (("guidance lowered", "earnings beat"),
     ("{c} tops {q} estimates but cuts {fy} forecast", "{c} beats on {q} profit, lowers full-year outlook",
      "{c} {q} earnings beat overshadowed by guidance cut")),
    (("guidance raised", "earnings miss"),
     ("{c} misses on {q} revenue, lifts {fy} guidance", "{c} {q} profit falls short but company raises outlook")),
    (("guidance lowered", "earnings miss"),
     ("{c} misses {q} estimates and cuts {fy} outlook", "{c} slashes forecast after {q} miss")),
    (("earnings beat", "guidance reaffirmed"),
     ("{c} {q} profit beats estimates; reaffirms {fy} guidance", "{c} tops {q} forecasts, backs full-year outlook")),
    (("earnings miss", "guidance reaffirmed"),
     ("{c} {q} results miss, company sticks to {fy} targets", "{c} misses {q} estimates but reaffirms outlook")),
    (("earnings beat", "shares rise"),
     ("{c} shares jump {pct}% after {q} earnings beat", "{c} stock rallies as {q} profit tops estimates")),
    (("earnings miss", "shares fall"),
     ("{c} shares tumble {pct}% after {q} earnings miss", "{c} stock slides as {q} results disappoint")),
    (("earnings beat", "dividend raised"),
     ("{c} tops {q} estimates, raises dividend", "{c} beats on {q} earnings and lifts quarterly payout")),
    (("acquisition", "shares rise"),
     ("{c2} soars {pct}% on {c} buyout deal", "{c2} shares jump as {c} agrees to buy it for {m}")),
    (("acquisition", "guidance raised"),
     ("{c} to buy {c2} for {m}, raises {fy} outlook",)),
    (("executive change", "layoffs"),
     ("{c} {role} steps down as company cuts {n} jobs", "{c} names {p} {role}, announces layoffs")),
    (("executive change", "shares fall"),
     ("{c} shares fall as {role} {p} resigns", "{c} stock drops {pct}% on surprise {role} exit")),
    (("layoffs", "guidance lowered"),
     ("{c} to cut {n} jobs, lowers {fy} outlook", "{c} warns on profit, plans {n} job cuts")),
    (("layoffs", "shares rise"),
     ("{c} shares rise after plan to cut {n} jobs",)),
    (("dividend raised", "share buyback"),
     ("{c} raises dividend {pct}%, adds {m} buyback", "{c} hikes payout and unveils {m} share repurchase")),
    (("dividend declared", "share buyback"),
     ("{c} declares {d} dividend, authorizes {m} repurchase", "{c} Declares Quarterly Dividend, Announces {m} Buyback")),
    (("dividend cut", "shares fall"),
     ("{c} shares sink after dividend cut", "{c} slashes dividend, stock drops {pct}%")),
    (("regulatory probe", "shares fall"),
     ("{c} shares slide after {reg} opens probe", "{c} stock falls {pct}% on {reg} investigation into {iss}")),
    (("legal settlement", "shares rise"),
     ("{c} shares rise after settling {iss} case", "{c} stock gains as it resolves {reg} probe")),
    (("product approval", "shares rise"),
     ("{c} shares soar as regulator approves {prod}", "{c} jumps {pct}% on {prod} approval")),
    (("approval rejected", "shares fall"),
     ("{c} plunges {pct}% after FDA rejects {prod}", "{c} shares sink on regulator's rejection of {prod}")),
    (("product approval", "product launch"),
     ("{c} launches {prod} after regulatory approval", "{c} wins approval for {prod}, plans launch this month")),
    (("labor strike", "shares fall"),
     ("{c} shares fall as {u} strike drags on", "{c} stock slips as workers walk out")),
    (("credit downgrade", "shares fall"),
     ("{c} bonds, shares slide after {ag} downgrade", "{c} stock falls as {ag} cuts rating to junk")),
    (("credit upgrade", "shares rise"),
     ("{c} shares rise after {ag} upgrade to investment grade",)),
    (("contract win", "shares rise"),
     ("{c} shares jump {pct}% on {m} contract win", "{c} stock climbs after landing {m} order")),
    (("partnership", "shares rise"),
     ("{c} shares surge on {c2} partnership", "{c} stock jumps after teaming up with {c2}")),
    (("product launch", "shares rise"),
     ("{c} shares rise after launch of new {prod}",)),
    (("deal terminated", "shares fall"),
     ("{c2} shares plunge as {c} walks away from deal", "{c2} sinks {pct}% after merger with {c} is called off")),
    (("divestiture", "shares rise"),
     ("{c} shares rise on plan to sell {unit} unit for {m}",)),
    (("regulatory probe", "executive change"),
     ("{c} {role} resigns amid {reg} probe",)),
)

# Near-miss distractors: a class stated with another class's vocabulary.
DISTRACT: dict[str, tuple[str, ...]] = {
    "guidance lowered": ("{c} cuts {fy} forecast", "{c} slashes sales target for {fy}", "{c} takes axe to profit outlook"),
    "dividend cut": ("{c} cuts dividend to conserve cash", "{c} axes payout"),
    "rating downgrade": ("{c} cut to {to_d} at {b}", "{b} slashes {c} rating to {to_d}"),
    "contract win": ("{c} beats rivals to win {m} deal", "{c} strikes {m} supply deal with {c2}"),
    "acquisition": ("{c} strikes {m} deal to buy {c2}", "{c} launches hostile bid for {c2}", "{c} launches tender offer for {c2}"),
    "credit upgrade": ("{ag} upgrades {c}", "{ag} lifts {c} to {to_c}"),
    "credit downgrade": ("{ag} downgrades {c}", "{ag} cuts {c} one notch"),
    "share buyback": ("{c} board approves {m} buyback", "{c} gets shareholder approval for {m} buyback"),
    "merger": ("Shareholders approve {c}-{c2} merger", "{c} and {c2} strike merger deal"),
    "deal terminated": ("Regulators block {c}'s takeover of {c2}", "Court blocks {c}-{c2} merger"),
    "shares rise": ("{c} shares settle higher", "{c} stock target of retail traders, jumps {pct}%", "{c} beats market with {pct}% gain"),
    "shares fall": ("{c} shares cut losses but end lower", "{c} stock sinks to lowest target since 2020"),
    "layoffs": ("{c} cuts {n} jobs", "{c} to strike {n} roles from payroll"),
    "product launch": ("{c} upgrades {prod} with new AI features", "{c} launches upgraded {prod}"),
    "earnings beat": ("{c} beats the street on {q} profit", "{c} {q} results top the targets set by analysts"),
    "earnings miss": ("{c} misses the target on {q} earnings", "{c} {q} profit cut short by costs, misses estimates"),
    "regulatory probe": ("{c} target of {reg} probe", "{reg} targets {c} in {iss} inquiry"),
    "legal settlement": ("{c} cuts deal with {reg} to end probe", "{c} strikes {m} settlement with {reg}"),
    "labor strike": ("{c} strike talks fail, walkout begins", "{u} strikes at {c} plants"),
    "executive change": ("{c} cuts ties with {role} {p}", "{c} board strikes out {role} {p}, names successor"),
    "partnership": ("{c} strikes partnership with {c2}", "{c} and {c2} target {prod} market together"),
    "rating initiation": ("{b} launches {c} at {r}", "{b} starts {c} with {r}, sets target at {up}"),
    "guidance raised": ("{c} raises target for {fy} sales", "{c} upgrades its {fy} outlook"),
}


def _fill(rng: R, template: str) -> str:
    vals = _m(rng)
    vals["to_c"] = _credit_pair(rng, True)[1]
    return template.format(**vals)


# ----------------------------------------------------------------------------------------------
# Wire and aggregator styles. Real feeds (newswire briefs, market-data aggregators) look unlike
# clean news-site copy: legal names with exchange tags, "UPDATE:" leads, estimate comparisons in
# terse notation ("Q3 EPS $(0.12) vs $(0.15) Est."), guidance lines against consensus ("Sees FY EPS
# $1.10-$1.20 vs $1.15 Est."), regulatory pipeline steps, filings ("8-K shows ..."), market-update
# lines that carry one company's event, option alerts and insider-trade notices. Each style below
# is a general pattern of such feeds; ``kind`` is ``wire:<label group>`` so stats.json counts them.


def _money_short(v: float) -> str:
    return f"${v:.1f}B" if v >= 1 else f"${v * 1000:.1f}M"


def _signed(v: float) -> str:
    return f"$({abs(v):.2f})" if v < 0 else f"${v:.2f}"


def _wire_vals(rng: R, label: str) -> dict:
    v = _m(rng)
    mlo = rng.randint(5, 40)
    v.update(mlo=mlo, mhi=mlo + rng.randint(1, 4), wage=rng.randint(12, 25), city=_pick(rng, P.CITIES))
    v.update(off=_pick(rng, OFFICIALS), stmt=_pick(rng, STATEMENTS).format(pol=_pick(rng, POLICY_TOPICS), sector=_pick(rng, SECTORS).lower()),
             cb=_pick(rng, CENTRAL_BANKS), cbact=_pick(rng, CB_ACTIONS).format(bp=rng.choice((25, 50, 75))))
    co = P.company(rng)
    v.update(c=co.ref(rng), prod=co.product(rng), tk=co.ticker if "." not in co.ticker else "XYZ",
             q=P.quarter(rng)[0], fy=P.fiscal_year(rng), sector=_pick(rng, SECTORS), conf=_pick(rng, CONFS),
             mk=_pick(rng, MARKET_UPDATES), idx=_pick(rng, INDEX_MOVES), a=P.person(rng), p2=P.person(rng),
             day=_pick(rng, P.WEEKDAYS), mon=_pick(rng, P.MONTHS)[:3], k=rng.randint(2, 90) * 100,
             n3=rng.randint(100, 9000), px=_fmt_price(_price(rng)), cause=_pick(rng, MOVE_CAUSES),
             gov=_pick(rng, GOVERNMENTS), pol=_pick(rng, POLICY_TOPICS), proj=_pick(rng, PROJECTS),
             svc=_pick(rng, SERVICES), ap=_pick(rng, P.APPROVERS[:8]), tks=", ".join(P.company(rng, 0.0).ticker for _ in range(rng.randint(3, 6))))
    outcome = {"earnings beat": "beat", "earnings miss": "miss"}.get(label, "inline")
    eps, est, e_act, e_est = _eps_pair(rng, outcome)
    rev_est = round(rng.uniform(0.02, 40), 3)
    rev = rev_est * (1 + rng.uniform(-0.05, 0.05))
    prev = round(e_act * rng.uniform(0.5, 1.5) + rng.uniform(-0.1, 0.1), 2)
    v.update(eps=eps, est=est, rev=_money_short(rev), rev_est=_money_short(rev_est), prev=_signed(prev),
             prev_rev=_money_short(rev * rng.uniform(0.7, 1.3)), pct=_pct(rng, 2, 40))
    lo = round(rng.uniform(0.3, 9), 2)
    hi = round(lo * rng.uniform(1.02, 1.12), 2)
    mid = (lo + hi) / 2
    gd = {"guidance raised": rng.uniform(0.8, 0.97), "guidance lowered": rng.uniform(1.03, 1.25)}.get(label, 1.0)
    g_est = round(mid * gd, 2)
    k = {"guidance raised": rng.uniform(0.85, 0.97), "guidance lowered": rng.uniform(1.03, 1.15)}.get(label, 1.0)
    v.update(lo=f"${lo:.2f}", hi=f"${hi:.2f}", gest=f"${g_est:.2f}", plo=f"${lo * k:.2f}", phi=f"${hi * k:.2f}",
             glo=_money_short(lo * 0.9), ghi=_money_short(hi * 0.9), gsest=_money_short(g_est * 0.9))
    new, old = _pt_pair(rng, label != "price target lowered")
    v.update(new=new, old=old)
    dnew, dold, _ = _div_pair(rng, {"dividend raised": "up", "dividend cut": "down"}.get(label, "flat"))
    v.update(dnew=dnew, dold=dold)
    return v


MARKET_UPDATES = ("Mid-Morning Market Update: Stocks Start Higher", "Mid-Day Market Update: Nasdaq Slips",
                  "Mid-Afternoon Market Update: Dow Rises Over 100 Points", "Market Update: Stocks Mixed",
                  "Pre-Market Update: Futures Edge Lower", "Mid-Morning Market Update: Markets Fall",
                  "Afternoon Market Update: S&P 500 Flat", "Mid-Day Market Update: Crude Oil Up 2%")
INDEX_MOVES = ("Markets Rise", "Markets Fall", "Dow Slides Over 200 Points", "Nasdaq Gains 1%", "S&P 500 Flat",
               "Crude Oil Down 3%", "Gold Rises")
MOVE_CAUSES = ("Social Media Buzz", "Short Report", "Volume Spike",
               "Sector Weakness", "Rate Worries", "Broad Market Selloff", "Analyst Note Rumors", "Unconfirmed Report",
               "Heavy Options Activity", "Reddit Interest", "Index Rebalancing", "Trade Uncertainty")
GOVERNMENTS = ("White House", "Treasury Department", "Commerce Department", "European Commission", "U.K. Government",
               "China's Commerce Ministry", "Senate Committee", "House Panel", "U.S. Trade Representative", "Japan's FSA",
               "India's Government", "Canadian Prime Minister's Office", "German Finance Ministry", "State Regulators")
POLICY_TOPICS = ("Tariffs on Steel Imports", "Drug Pricing Rules", "Net Neutrality", "Bank Capital Requirements",
                 "Emissions Standards", "Crypto Regulation", "Chip Export Controls", "Data Privacy Rules",
                 "Pipeline Permits", "Drone Regulations", "Stress Test Rules", "Trade Deal Terms", "Antitrust Guidelines")
OFFICIALS = ("Treasury Secretary", "President on Twitter", "Commerce Secretary", "EU Trade Commissioner", "Prime Minister's Spokesperson",
             "German Finance Minister", "Senate Majority Leader", "House Speaker", "SEC Chair", "FTC Chair", "Health Officials",
             "Energy Secretary", "U.K. Chancellor", "China's Foreign Ministry", "Governor", "Lawmakers")
STATEMENTS = ("Administration Considering {pol}", "New {pol} Coming Next Month", "Talks On {pol} Making Progress",
              "Government Will Not Back Down On {pol}", "Bill On {pol} Has Enough Votes", "{pol} To Be Reviewed",
              "Country Will Retaliate Over {pol}", "Oversight Of {sector} Sector To Be Tightened", "Deal Reached On {pol}")
CENTRAL_BANKS = ("Fed", "ECB", "Bank of England", "Bank of Japan", "PBOC", "RBA", "Bank of Canada", "SNB")
CB_ACTIONS = ("Cuts Rates By {bp} bps", "Holds Rates Steady, Signals Cuts Later This Year", "Raises Rates By {bp} Basis Points",
              "Minutes Show Members Split On Balance Sheet", "Proposes Tougher Capital Rules For Large Banks",
              "Says Stress Test Results Show Banks Well Capitalized", "Extends Emergency Lending Program")
PROJECTS = ("Pipeline", "Mine Expansion", "Wind Farm", "Refinery", "LNG Terminal", "Casino License", "Data Center")
SERVICES = ("Customer Service Platform", "Cloud Migration", "Logistics Services", "Maintenance Services",
            "Payment Processing", "Network Equipment", "Property Management Services", "Fleet Services")

WIRE: dict[str, tuple[str, ...]] = {
    "rating upgrade": ("{b} Upgrades {c} to {to_u}", "UPDATE: {b} Upgrades {c} to {to_u} on {sector} Recovery",
                       "{c} ({tk}) Upgraded to {to_u} at {b}", "{b}'s {a} Upgrades {c} to {to_u}",
                       "{b} Upgraded {c} to {to_u}", "{c} Upgraded At {b}; Stock Up {pct}% Premarket"),
    "rating downgrade": ("{b} Downgrades {c} to {to_d}", "UPDATE: {b} Downgrades {c} to {to_d} on Valuation",
                         "{c} ({tk}) Downgraded to {to_d} at {b}", "{b} Downgraded {c} from {to_u} to {to_d}",
                         "{c} Downgraded At {b} On {sector} Headwinds"),
    "rating reiterated": ("{b} Reiterating {r} Rating On {c}", "{b}'s {a} {r} On {c} Following {q} Results",
                          "{b} Sees Upside In {sector} Into {q} Reports; {c}, {c2} Top Picks",
                          "{b} Comments on {c} Following Investor Day", "{b}'s {a} Stays Cautious on {c}",
                          "{b} Adds {c} To Conviction List, Maintains {r}", "{b}'s {a} Says {c} Thesis Intact After {q}"),
    "price target raised": ("{b} Maintains {r} on {c}, Raises Price Target to {new}", "{b} Maintains {c} at {r}, Raises PT from {old} to {new}",
                            "{c} Price Target Raised to {new} By {b} On Strong {q}", "UPDATE: {b} Reiterates {r} Rating, Raises PT on {c}",
                            "{b} Upgrades {c} to {to_u}, Raises to {new}", "{b} Downgrades {c} to {to_d}, Raises PT to {new}",
                            "{b} Maintains {r} on {c}, Raises PT to {new}"),
    "price target lowered": ("{b} Maintains {r} on {c}, Lowers Price Target to {new}", "{b} Maintains {c} at {r}, Lowers PT from {old} to {new}",
                             "{c} Price Target Lowered to {new} By {b} After {q}", "UPDATE: {b} Reiterates {r} Rating, Lowers PT for {c}",
                             "{b} Downgrades {c} to {to_d}, Lowers to {new}", "{b} Upgrades {c} to {to_u}, Lowers PT to {new}",
                             "{b} Maintains {r} on {c}, Lowers PT to {new}"),
    "earnings beat": ("{c} Reports {q} EPS {eps} vs {est} Est., Sales {rev} vs {rev_est} Est.", "{c} {q} EPS {eps} Beats {est} Estimate, Sales {rev} Miss {rev_est} Estimate",
                      "{c} Reports {q} Adj. EPS {eps} vs. {est} Est; Revenues {rev} vs. {rev_est} Est", "{mk}; {c} Tops {q} Estimates",
                      "{c} Reports {q} Loss/Share {eps} vs {est} Est"),
    "earnings miss": ("{c} Reports {q} EPS {eps} vs {est} Est., Sales {rev} vs {rev_est} Est.", "{c} {q} EPS {eps} Misses {est} Estimate, Sales {rev} Beat {rev_est} Estimate",
                      "{c} Reports {q} Adj. EPS {eps} vs. {est} Est; Revenues {rev} vs. {rev_est} Est", "{mk}; {c} Earnings Miss Estimates",
                      "{c} Reports {q} Loss/Share {eps} vs {est} Est"),
    "earnings in line": ("{c} Reports {q} EPS {eps}, Inline, Sales {rev} vs {rev_est} Est.", "{c} Reports {q} EPS {eps} vs {prev} YoY, Sales {rev} vs {prev_rev} YoY", "{c} Reports {q} EPS of {eps}; Revenue of {rev}",
                         "{c} Reports {q} EPS {eps} vs {est} Est."),
    "guidance raised": ("{c} Sees {fy} EPS {lo}-{hi} vs {gest} Est.", "{c} Raises {fy} EPS Guidance From {plo}-{phi} to {lo}-{hi} vs {gest} Est",
                        "UPDATE: {c} Sees {q} Sales {glo}-{ghi} vs {gsest} Est.", "{c} Guides {fy} Revenue {glo}-{ghi} vs {gsest} Est",
                        "{c} Sees {fy} Adj. EPS {lo}-{hi}, Above Consensus of {gest}",
                        "{c} Says Now Expects {fy} Margin Of {mlo}% To {mhi}%, Up From Prior View"),
    "guidance lowered": ("{c} Sees {fy} EPS {lo}-{hi} vs {gest} Est.", "{c} Cuts {fy} Adj. EPS Guidance to {lo}-{hi} vs {gest} Est.",
                         "UPDATE: {c} Sees {q} Sales {glo}-{ghi} vs {gsest} Est.", "{c} Lowers {fy} Guidance From {plo}-{phi} to {lo}-{hi}",
                         "{c} Now Sees {fy} Sales Toward Low End of {glo}-{ghi} Range",
                         "{c} Says Expects {cause} To Be A {pct} Point Headwind To {fy} Growth",
                         "From {c} Call: Co. Now Expects {fy} Margin Of {mlo}% To {mhi}%, Down From Prior View"),
    "guidance reaffirmed": ("{c} Reaffirms {fy} Adj. EPS {lo}-{hi} vs {gest} Estimate", "{c} Narrows {fy} EPS Guidance to {lo}-{hi} vs {gest} Est",
                            "{c} Sees {fy} EPS {lo}-{hi} vs {gest} Est.", "{c} Affirms {fy} Outlook, Sees Sales {glo}-{ghi}",
                            "From {c} Conference Call: Co. Still Expects {fy} Margin Of {mlo}% To {mhi}%",
                            "{c} Says It Continues To Expect {fy} Operating Margin Between {mlo}% And {mhi}%"),
    "executive change": ("{c} {role} {p} Resigns; {p2} Named Interim {role}",
                         "8-K from {c} Shows {role} {p} to Step Down", "{c} Appoints {p} As {role}",
                         "{c} Says {role} {p} Will Retire"),
    "layoffs": ("UPDATE: {c} Plans To Reduce Workforce By About {pct}%", "8-K Filing Shows {c} Will Reduce Headcount by ~{n} Jobs",
                "{c} 10-Q Shows Co. Cut ~{n} Jobs In Restructuring", "{c} Furloughs {n} Workers Amid Slowdown",
                "{c} To Hire {n} Workers For Holiday Season", "{c} Offers Early Retirement To {n} Employees",
                "{c} Eliminates Bonuses For Senior Executives", "{c} Suspends Employee Over {iss}",
                "{c} To Pay {m} In Profit-Sharing To Employees", "{c} Raises Starting Wage To ${wage}/Hour",
                "{c} Idles {unit} Plant, Puts {n} On Temporary Leave"),
    "labor strike": ("{u} Files Complaint Against {c} Over Working Conditions", "{u} Says Talks With {c} Have Stalled",
                     "{u} Says Members at {c} Will Strike Starting {day}",
                     "UPDATE: {c} Workers Walk Out; {u} Cites Stalled Talks"),
    "acquisition": ("{c} Announces {m} Acquisition of {unit} Assets", "{c} Acquires {c2}; Terms Not Disclosed",
                    "{mk}; {c} To Acquire {c2} For {m}", "UPDATE: {c} Said To Be Among Bidders For {c2}",
                    "{c} Extends Tender Offer for {c2} at {px}/Share",                     "13F Shows {c} Took New Stake In {c2}", "{c} To Buy {c2}, No Terms Disclosed",
                    "{c} Buys {c2} For {m} In Cash, ~{n3}K Shares", "{c} Acquires {unit} Facility In {city}",
                    "Is {c2} A Takeover Target? {c} Seen As Suitor", "{c} Says {c2} Purchase To Be Accretive In {fy}",
                    "Activist {a} Pushes {c} To Explore Sale", "{c} Confirms Approach For {c2}"),
    "merger": ("{c} and {c2} To Merge In {m} Transaction", "UPDATE: {c}, {c2} Announce Merger Agreement"),
    "divestiture": ("{c} Sells {unit} Unit to {c2} for {m}", "{c} Reports Completion Of {unit} Divestiture"),
    "dividend raised": ("{c} Raises Qtr. Dividend from {dold} to {dnew}/Share", "{c} Increases Dividend From {dold} To {dnew}",
                        "{c} Announces Dividend Increase To {dnew}/share From {dold}/share"),
    "dividend cut": ("{c} Reduces Monthly Dividend to {dnew} From {dold}", "{c} Lowers Qtr. Dividend from {dold} to {dnew}/Share"),
    "dividend declared": ("{c} Declares Quarterly Dividend of {dnew} Per Common Share ({tk})", "{c} Declares Dividend of {dnew} on Preferred Stock"),
    "share buyback": ("{c} Adds {n3}K Shares to Repurchase Program", "{c} Board Authorizes {m} Buyback ({tk})"),
    "regulatory probe": ("{off} Says {stmt}", "{cb} {cbact}", "UPDATE: {off} Says {stmt}", "{cb} Official {p}: {stmt}",
                         "{c} Files Patent Infringement Suit Against {c2}", "{gov} Says It Is Reviewing {pol}",
                         "{gov} Proposes New {pol}", "Court Blocks Permit For {c} {proj}", "{c} Receives Nasdaq Deficiency Notice",
                         "{reg} Sues {c} Over {iss}", "{gov} Official Says Administration Looking At {pol}",
                         "8-K From {c} Shows Co. Received Subpoena From {reg}"),
    "legal settlement": ("{c} Settles Patent Dispute With {c2}",
                         "{c} Wins Appeal In Patent Case Against {c2}", "Court Rules For {c2} In {c} {iss} Case",
                         "{c} Loses Bid To Dismiss {iss} Lawsuit"),
    "shares rise": ("{c} Shares Now Up {pct}% Following {cause}", "{c} Shares Touch Session High Of {px}, Up {pct}% On {cause}",
                    "{mk}; {c} Shares Jump Following {q} Results", "{c} Up {pct}% After Beating Estimates, {b} Upgrades ({tk})",
                    "{c} {role} {p} Buys {n3} Shares @{px}/Share -Form 4", "Option Alert: {tk} {mon} {px} Calls Sweep: {n3} @ Ask",
                    "{c} Shares Climb {pct}% After-Hours On {q} Results", "{sector} Stocks Trading Higher As {cause} Lifts Group"),
    "shares fall": ("{c} Shares Now Down {pct}% Following {cause}", "{c} Prices Public Offering of {n3}K Shares At {px}/Share",
                    "{mk}; {c} Shares Fall Following {q} Results", "{c} Down {pct}% After Missing Estimates, {b} Downgrades ({tk})",
                    "{mk}; {c} Shares Tumble Following Public Offering Of Stock", "{c} {role} {p} Sells {n3} Shares @{px}/Share -Form 4",
                    "Option Alert: {tk} {mon} {px} Puts Sweep: {n3} @ Ask", "{sector} Stocks Trading Lower Amid {cause}",
                    "{c} Announces Proposed Public Offering Of Common Stock"),
    "credit upgrade": ("{ag} Upgrades {c}'s Rating to {to_c}; Outlook Stable", "{ag} Affirms {c} Ratings, Raises Outlook from Stable to Positive"),
    "credit downgrade": ("{ag} Places {c} on Rating Watch Negative", "{ag} Affirms {c}; Outlook Revised from Stable to Negative",
                         "{ag} Assigns Negative Outlook On {sector} Issuers"),
    "product launch": ("{c} Announces {pct}% Price Increase on {prod}", "{c} Presents Data From Phase 2 Study Of {prod} at {conf}",
                       "{c} Highlights New {prod} At {conf}"),
    "contract win": ("{c2} Selects {c} to Provide {svc}", "{c2} Awards {m} Contract to {c}", "{c} Awarded Multi-Year Contract By {c2}",
                     "{c}, {c2} Sign Order Valued At {m}", "{c} Reports Deal With {c2} For {svc}"),
    "partnership": ("{c} Forms JV With {c2} For {svc}", "{c}, {c2} Enter Licensing Agreement For {prod}"),
    "product approval": ("{c} Submits Application to {ap} for {prod}", "{ap} Grants Priority Review To {c}'s {prod}",
                         "{c} Receives CE Mark for {prod}", "{c} Gets 510(k) Clearance for {prod}", "CHMP Issues Positive Opinion For {c}'s {prod}",
                         "{ap} Advisory Panel to Review {c}'s {prod} on {day}", "{ap} Validates Application For {c}'s {prod}",
                         "{c} Receives Breakthrough Therapy Designation For {prod}", "{c} Reports {ap} Acceptance Of Filing For {prod}"),
    "approval rejected": ("{ap} Issues Complete Response Letter To {c} For {prod}", "{ap} Panel Votes Against {c}'s {prod}"),
    "other": ("{sector} Stocks To Watch ({tks})", "Morning Briefing: {c}, {c2}, {sector} And More", "{sector} Names Leading The Rally ({tks})",
              "{a} Talks With {c} CEO {p} About {sector} Demand", "{gov} Data: {sector} Activity Slows In {mon}",
              "How {cause} Could Hit {sector} Stocks ({tks})", "Weekly Recap: {sector} Lags As {idx}"),
}


def wire_sample(rng: R, label: str) -> Sample:
    vals = _wire_vals(rng, label)
    vals["to_c"] = _credit_pair(rng, label != "credit downgrade")[1]
    head = _pick(rng, WIRE[label]).format(**vals)
    spec = TASK.labels[TASK.index(label)]
    why = f"In wire shorthand the headline reports that {spec.definition[0].lower()}{spec.definition[1:-1]}, so {label}."
    return Sample(head, label, why, f"wire:{spec.group}")


_PREFIXES = ("UPDATE: ", "UPDATE: ", "UPDATE 1-", "UPDATE 2-", "UPDATE 3-", "BRIEF-", "RPT-", "CORRECTED-", "*", "BUZZ-", "Breaking: ", "WATCH: ")
_SUFFIXES = (" - Reuters", " | Reuters", " - Bloomberg", " (Benzinga)", " - WSJ", ": report", " -- MarketWatch", " - sources",
             " - Dow Jones", " - CNBC", " | Investing.com", " - FT", " (Reuters)", " - filing", " - statement")
_ABBREV = (("price target", "PT"), ("Price Target", "PT"), ("estimate", "est."), ("Estimate", "Est."), ("revenue", "rev"),
           ("million", "mln"), ("billion", "bln"), ("quarter", "qtr"), ("shares", "shs"), ("percent", "pct"),
           ("Inc", "Inc."), ("company", "co"), (" and ", " & "), ("year", "yr"))


# Weighted: source tags and abbreviations are common on the wire, typos are rare.
_NOISE_OPS = ("prefix",) * 6 + ("suffix",) * 6 + ("case",) * 3 + ("abbrev",) * 4 + ("typo",)


def add_noise(rng: R, text: str) -> str:
    """Wire-copy noise: source prefixes/suffixes, casing, abbreviations, an occasional typo."""
    ops = [_pick(rng, _NOISE_OPS) for _ in range(rng.choice((1, 1, 2)))]
    for op in dict.fromkeys(ops):
        if op == "prefix":
            text = _pick(rng, _PREFIXES) + text
        elif op == "suffix":
            text = text + _pick(rng, _SUFFIXES)
        elif op == "case":
            text = rng.choice((str.upper, str.lower, lambda s: s[:1].upper() + s[1:]))(text)
        elif op == "abbrev":
            for a, b in rng.sample(_ABBREV, k=len(_ABBREV)):
                pat = re.compile(rf"(?<![A-Za-z]){re.escape(a.strip())}(?![A-Za-z.])")
                if pat.search(text):
                    text = pat.sub(b.strip(), text, count=1)
                    break
        elif op == "typo":
            words = text.split(" ")
            idx = [i for i, w in enumerate(words) if len(w) > 5 and w.isalpha()]
            if idx:
                i = _pick(rng, idx)
                w = words[i]
                j = rng.randrange(1, len(w) - 2)
                words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
                text = " ".join(words)
    return text


# A headline that leads with the size of a share move ("X shares jump 8% after ...") is a share move
# whatever the cause (the shares rise/fall precedence rule); one about the event keeps the event.
_LEADS_WITH_MOVE = re.compile(r"^\{c2?\} (?:shares |stock )?\w+ \{pct\}%")


def multi_winner(events: tuple[str, ...], form: str) -> str:
    moves = [e for e in events if e in ("shares rise", "shares fall")]
    if moves and _LEADS_WITH_MOVE.match(form):
        return moves[0]
    return TASK.resolve(list(events))


_MULTI_BY_WINNER: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _events, _forms in MULTI:
    for _form in _forms:
        _MULTI_BY_WINNER.setdefault(multi_winner(_events, _form), []).append((_events, _form))


def generate(rng: R, label: str, difficulty: Difficulty) -> Sample:
    """One headline of class ``label``; the hard kinds are drawn with the shares in ``difficulty``."""
    if label not in SIMPLE:
        raise KeyError(f"unknown label {label!r}")
    u = rng.random()
    d = difficulty
    if rng.random() < d.wire and label in WIRE:
        sample = wire_sample(rng, label)
    elif u < d.multi_event and label in _MULTI_BY_WINNER:
        events, form = _pick(rng, _MULTI_BY_WINNER[label])
        head = _fill(rng, form)
        others = [e for e in events if e != label]
        why = (f"The headline reports {' and '.join(events)}; by the precedence rules {label} wins over "
               f"{', '.join(others)}.")
        sample = Sample(head, label, why, "multi", {"events": list(events)})
    elif u < d.multi_event + d.distractor and (label in DISTRACT or label == "other"):
        if label == "other":
            h, why, kind = g_other(rng, True)
            sample = Sample(h, label, why, kind)
        else:
            head = _fill(rng, _pick(rng, DISTRACT[label]))
            why = f"Despite wording that suggests another event, the headline reports {TASK.labels[TASK.index(label)].definition[0].lower()}{TASK.labels[TASK.index(label)].definition[1:-1]}, so {label}."
            sample = Sample(head, label, why, "distractor")
    else:
        num = label in NUMERIC and rng.random() < d.numeric
        h, why, kind = SIMPLE[label](rng, num)
        sample = Sample(h, label, why, kind)
    if rng.random() < d.noisy:
        sample.headline = add_noise(rng, sample.headline)
        sample.fields["noisy"] = True
    sample.headline = " ".join(sample.headline.split())
    return sample
