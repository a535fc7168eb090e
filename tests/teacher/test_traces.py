import pytest

from taskdistill.task import load_task
from taskdistill.teacher.traces import check_trace, summarize

FH = load_task("finheadlines")

GOLD = "rating upgrade"
OTHER = "rating downgrade"


def test_agreeing_trace_is_kept_under_every_policy():
    for policy in ("keep", "drop", "relabel"):
        c = check_trace("a", "<think>Broker raises the rating.</think>\n[[rating upgrade]]", GOLD, FH, policy)
        assert c.parsed_label == GOLD and c.agrees and c.kept and c.target_label == GOLD
        assert c.trace == "Broker raises the rating." and c.error == ""


@pytest.mark.parametrize("policy,kept,target", [("keep", True, GOLD), ("drop", False, None),
                                                 ("relabel", True, OTHER)])
def test_disagreeing_trace_follows_policy(policy, kept, target):
    c = check_trace("a", "<think>Broker cuts to sell.</think>\n[[rating downgrade]]", GOLD, FH, policy)
    assert c.parsed_label == OTHER and not c.agrees
    assert c.kept is kept and c.target_label == target


@pytest.mark.parametrize("raw,why", [
    ("[[rating upgrade]]", "no <think>"),
    ("<think>unfinished reasoning [[rating upgrade]]", "unterminated"),
    ("<think>  </think>\n[[rating upgrade]]", "empty reasoning"),
    ("<think>x</think>\n[[not a label]]", "unknown label"),
    ("<think>x</think>\n[[rating upgrade]] [[rating downgrade]]", "2 answers"),
    ("<think>x</think>\nrating upgrade", "no [[{label}]] answer"),
])
def test_unparseable_outputs_are_always_dropped(raw, why):
    for policy in ("keep", "drop", "relabel"):
        c = check_trace("a", raw, GOLD, FH, policy)
        assert c.parsed_label is None and not c.kept and not c.agrees and c.target_label is None
        assert why in c.error and c.trace == ""


def test_unknown_policy():
    with pytest.raises(ValueError, match="unknown trace policy 'maybe'"):
        check_trace("a", "<think>x</think>[[rating upgrade]]", GOLD, FH, "maybe")


def test_summary_counts():
    rows = [check_trace("a", "<think>x</think>[[rating upgrade]]", GOLD, FH, "drop"),
            check_trace("b", "<think>x</think>[[rating downgrade]]", GOLD, FH, "drop"),
            check_trace("c", "garbage", GOLD, FH, "drop")]
    s = summarize(rows)
    assert s == {"n": 3, "parsed": 2, "unparseable": 1, "agree_with_gold": 1, "disagree_with_gold": 1,
                 "kept": 1, "parse_rate": 2 / 3, "agreement_rate": 0.5}
