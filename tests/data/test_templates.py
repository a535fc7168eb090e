"""Template grammar: every class, determinism, precedence-resolved multi-event labels, knobs, filters."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from taskdistill.data.synth.filters import check, filter_batch, label_keys
from taskdistill.data.synth.templates import (
    DISTRACT,
    MULTI,
    NUMERIC,
    WIRE,
    Difficulty,
    add_noise,
    generate,
    multi_winner,
)
from taskdistill.task import load_task

TAXONOMY = load_task("finheadlines")
LABELS = TAXONOMY.label_names


def test_every_class_generates_valid_distinct_headlines():
    rng = random.Random(0)
    for lab in LABELS:
        heads = [generate(rng, lab, Difficulty()) for _ in range(30)]
        assert all(s.label == lab and s.rationale.strip() for s in heads)
        assert all(check(s.headline) is None for s in heads), [s.headline for s in heads if check(s.headline)]
        assert len({s.headline for s in heads}) >= 27, lab  # wide pools: almost no exact repeats


def test_seeded_determinism():
    a = [generate(random.Random(7), lab, Difficulty()).headline for lab in LABELS]
    b = [generate(random.Random(7), lab, Difficulty()).headline for lab in LABELS]
    assert a == b


def test_multi_event_labels_follow_precedence():
    rng = random.Random(1)
    d = Difficulty(multi_event=1.0, distractor=0.0, numeric=0.0, noisy=0.0, wire=0.0)
    for events, forms in MULTI:
        for form in forms:
            winner = multi_winner(events, form)
            assert winner in events
            s = generate(rng, winner, d)
            assert s.kind == "multi" and s.label == winner and winner in s.rationale
            assert s.label == multi_winner(tuple(s.fields["events"]), "") or s.label in ("shares rise", "shares fall")
    # a headline that leads with the size of the move is a share move; one about the event keeps the event
    assert multi_winner(("earnings beat", "shares rise"), "{c} shares jump {pct}% after {q} earnings beat") == "shares rise"
    assert multi_winner(("earnings beat", "shares rise"), "{c} stock rallies as {q} profit tops estimates") == "earnings beat"
    # documented precedence examples
    assert TAXONOMY.resolve(["rating upgrade", "price target raised"]) == "price target raised"
    assert TAXONOMY.resolve(["rating downgrade", "price target raised"]) == "price target raised"
    assert TAXONOMY.resolve(["rating upgrade", "earnings beat"]) == "rating upgrade"
    assert TAXONOMY.resolve(["price target raised", "rating reiterated"]) == "price target raised"
    assert TAXONOMY.resolve(["earnings beat", "guidance lowered"]) == "guidance lowered"
    assert TAXONOMY.resolve(["shares fall", "regulatory probe"]) == "regulatory probe"
    assert TAXONOMY.resolve(["dividend declared", "share buyback"]) == "share buyback"


def test_difficulty_knobs_control_kinds():
    rng = random.Random(2)
    plain = Difficulty(multi_event=0, distractor=0, numeric=0, noisy=0, wire=0)
    kinds = Counter(generate(rng, lab, plain).kind.split(":")[0] for lab in LABELS for _ in range(10))
    assert set(kinds) == {"simple", "other"}
    hard = Difficulty(multi_event=0, distractor=1.0, numeric=0, noisy=0, wire=0)
    assert all(generate(rng, lab, hard).kind == "distractor" for lab in DISTRACT)
    num = Difficulty(multi_event=0, distractor=0, numeric=1.0, noisy=0, wire=0)
    assert all(generate(rng, lab, num).kind == "numeric" for lab in NUMERIC)
    wire = Difficulty(multi_event=0, distractor=0, numeric=0, noisy=0, wire=1.0)
    assert all(generate(rng, lab, wire).kind == f"wire:{TAXONOMY.group(lab)}" for lab in WIRE)
    with pytest.raises(KeyError):
        generate(rng, "bullish", plain)


def test_wire_styles_keep_the_label_in_the_numbers():
    """Wire lines that carry the direction only in numbers: the numbers agree with the label."""
    import re

    rng = random.Random(5)
    d = Difficulty(multi_event=0, distractor=0, numeric=0, noisy=0, wire=1.0)
    num = re.compile(r"\$\(?([\d.]+)\)?")
    for _ in range(200):
        s = generate(rng, "guidance raised", d)
        m = re.search(r"EPS (\$[\d.]+)-(\$[\d.]+) vs (\$[\d.]+) Est", s.headline)
        if m:  # issued above consensus
            lo, hi, est = (float(num.match(x).group(1)) for x in m.groups())
            assert est < (lo + hi) / 2, s.headline
        s = generate(rng, "price target lowered", d)
        m = re.search(r"from (\$[\d.]+) to (\$[\d.]+)", s.headline)
        if m:
            old, new = (float(x[1:]) for x in m.groups())
            assert new < old, s.headline


def test_numeric_forms_carry_the_direction_in_numbers():
    rng = random.Random(3)
    d = Difficulty(multi_event=0, distractor=0, numeric=1.0, noisy=0, wire=0)
    for _ in range(20):
        s = generate(rng, "price target raised", d)
        assert "raise" not in s.headline.lower() and "lower" not in s.headline.lower()


def test_noise_changes_surface_only():
    rng = random.Random(4)
    out = {add_noise(rng, "Goldman Sachs Upgrades Apple to Buy") for _ in range(50)}
    assert len(out) > 10 and all("apple" in o.lower() or "appel" in o.lower() or "aplpe" in o.lower() for o in out)


def test_filter_reasons():
    assert check("") == "empty"
    assert check("Apple") == "too_short"
    assert check(" ".join(["word"] * 41)) == "too_long"
    assert check("Apple jumps\nBoeing falls today") == "multi_line"
    assert check("Apple\ufffds shares jump 5%") == "broken_chars"
    assert check("Here is a headline: Apple jumps 5%") == "prompt_echo"
    assert check("Apple jumps 5% today", echo_texts=("apple jumps 5% today",)) == "prompt_echo"
    assert check("Apple jumps 5% [[shares rise]]") == "label_leak"
    assert check("Label: shares rise for Apple") == "label_leak"
    assert check("earnings in line", labels=label_keys(TAXONOMY)) == "label_leak"
    assert check("earnings in line") is None  # without a label set, only answer tags are leaks
    assert check("Apple Q3 earnings in line with expectations") is None
    keep, counts = filter_batch(["", "Apple", "Apple shares jump 5%"], TAXONOMY)
    assert keep == [False, False, True] and counts == Counter(empty=1, too_short=1)
