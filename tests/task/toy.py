"""A third, toy task for tests: 4-way support-ticket routing, with a few hundred labelled rows
written by a seeded generator (no external data).

``write_toy_task(folder)`` writes ``tickets.csv`` (columns ``ticket_id, ticket, queue``: the text
is in ``ticket``, the label in ``queue``, so an import needs ``--map text=ticket --map label=queue
--map id=ticket_id``) and ``ticket-routing.yaml`` (the task; input field ``text``, no groups unless
``groups=True``) and returns both paths. Reused by the end-to-end pipeline test.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

LABELS = ("billing", "technical", "account", "shipping")
GROUPS = {"billing": "money", "shipping": "money", "technical": "product", "account": "product"}

_OPENERS = ("Hi,", "Hello team,", "Urgent:", "Quick question -", "Hey support,", "Good morning,", "", "Help!")
_CLOSERS = ("Thanks.", "Please advise.", "Can you help?", "Regards, Sam", "This is the second time I ask.", "",
            "Any update would be great.", "Cheers")
_WHAT = {
    "billing": ("I was charged twice for my {plan} subscription this month",
                "my invoice #{n} shows the wrong amount",
                "the refund for order {n} never arrived on my card",
                "why did my {plan} plan price go up without notice",
                "I need a VAT receipt for invoice #{n}",
                "my credit card was declined but the payment still went through",
                "please cancel the automatic renewal of my {plan} plan before I am billed"),
    "technical": ("the app crashes every time I open the {feature} screen",
                  "I get error code {n} when I try to sync",
                  "the {feature} page has been loading forever since the last update",
                  "exports to CSV come out empty in version {v}",
                  "notifications stopped working on my phone after updating to {v}",
                  "the {feature} button does nothing in Firefox",
                  "the API returns a 500 error on the {feature} endpoint"),
    "account": ("I cannot log in even after resetting my password",
                "please change the email address on my account to a new one",
                "how do I add a second user to my {plan} workspace",
                "my account got locked after too many sign-in attempts",
                "I want to delete my account and all my data",
                "two-factor codes are not reaching me, I am locked out",
                "please merge my two accounts into one"),
    "shipping": ("my package {n} has not moved in {d} days",
                 "the parcel was delivered to the wrong address",
                 "tracking number {n} says delivered but nothing arrived",
                 "can I change the delivery date of order {n}",
                 "the box for order {n} arrived damaged",
                 "do you ship to {country} and how long does it take",
                 "the courier left my order {n} at a pickup point {d} km away"),
}
_FILL = dict(plan=("Basic", "Pro", "Team", "Enterprise", "yearly", "monthly"),
             feature=("dashboard", "reports", "settings", "calendar", "search", "billing history"),
             v=("2.3", "2.4.1", "3.0", "3.1 beta"),
             country=("Canada", "Norway", "Brazil", "Japan", "Kenya", "Portugal"))


def toy_rows(n_per_label: int = 75, seed: int = 0) -> list[dict]:
    """``n_per_label`` distinct tickets per queue, shuffled, ids ``T0000``..."""
    rng = random.Random(seed)
    rows, seen = [], set()
    for lab in LABELS:
        made = 0
        while made < n_per_label:
            body = rng.choice(_WHAT[lab]).format(
                n=rng.randrange(1000, 99999), d=rng.randrange(2, 30), **{k: rng.choice(v) for k, v in _FILL.items()})
            text = " ".join(p for p in (rng.choice(_OPENERS), body[0].upper() + body[1:] + ".", rng.choice(_CLOSERS))
                            if p)
            if text in seen:
                continue
            seen.add(text)
            rows.append(dict(ticket=text, queue=lab))
            made += 1
    rng.shuffle(rows)
    return [dict(ticket_id=f"T{i:04d}", **r) for i, r in enumerate(rows)]


def toy_task_yaml(groups: bool = False) -> str:
    definitions = dict(billing="Charges, invoices, refunds, prices and payment problems.",
                       technical="Bugs, crashes, error codes and features that do not work.",
                       account="Logging in, passwords, users, account settings and deletion.",
                       shipping="Delivery, tracking, parcels and couriers.")
    lines = ["name: ticket-routing",
             "description: Route a customer support ticket to the team that handles it.",
             "input_field: text",
             "instructions:",
             '  label: "Route the support ticket to a queue. Answer as [[queue]]."',
             '  cot: "Route the support ticket to a queue. Reason briefly in <think></think>, then answer as '
             '[[queue]]."',
             'answer_format: "[[{label}]]"',
             "labels:"]
    for lab in LABELS:
        g = f", group: {GROUPS[lab]}" if groups else ""
        lines.append(f'  - {{answer: {lab}, definition: "{definitions[lab]}"{g}}}')
    lines.append('aliases: {"Billing": billing, "tech support": technical}')
    return "\n".join(lines) + "\n"


def write_toy_task(folder: str | Path, n_per_label: int = 75, seed: int = 0,
                   groups: bool = False) -> tuple[Path, Path]:
    """Write ``tickets.csv`` and ``ticket-routing.yaml`` into ``folder``; returns (csv, task yaml)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, task_path = folder / "tickets.csv", folder / "ticket-routing.yaml"
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["ticket_id", "ticket", "queue"])
        w.writeheader()
        w.writerows(toy_rows(n_per_label, seed))
    task_path.write_text(toy_task_yaml(groups), encoding="utf-8")
    return csv_path, task_path
