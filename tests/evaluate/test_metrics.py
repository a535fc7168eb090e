"""Metric functions against hand-computed cases and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, log_loss

from taskdistill.evaluate import metrics as M

Y = np.array([0, 1, 2, 2])
P = np.array([[0.7, 0.2, 0.1],
              [0.5, 0.4, 0.1],  # wrong: predicts 0
              [0.1, 0.1, 0.8],
              [0.2, 0.2, 0.6]])


def test_hand_computed():
    assert M.accuracy(Y, P) == pytest.approx(0.75)
    # class 0: tp1 fp1 fn0 -> F1 2/3; class 1: tp0 fn1 -> 0; class 2: tp2 -> 1
    assert M.macro_f1(Y, P) == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert M.nll(Y, P) == pytest.approx(-(np.log(0.7) + np.log(0.4) + np.log(0.8) + np.log(0.6)) / 4)
    b = ((0.3**2 + 0.2**2 + 0.1**2) + (0.5**2 + 0.6**2 + 0.1**2) + (0.1**2 + 0.1**2 + 0.2**2)
         + (0.2**2 + 0.2**2 + 0.4**2)) / 4
    assert M.brier(Y, P) == pytest.approx(b)
    # ECE, 15 bins: conf 0.7 (correct), 0.5 (wrong), 0.8 (correct), 0.6 (correct), each alone in its bin
    assert M.ece(Y, P) == pytest.approx((0.3 + 0.5 + 0.2 + 0.4) / 4)
    np.testing.assert_array_equal(M.confusion(Y, P), [[1, 0, 0], [1, 0, 0], [0, 0, 2]])


def test_coarse_groups():
    groups = [0, 0, 1]  # classes 0 and 1 share a category: the wrong prediction becomes right
    assert M.macro_f1(Y, P, groups=groups) == pytest.approx(1.0)


def test_against_sklearn():
    rng = np.random.default_rng(0)
    k, n = 35, 300
    logits = rng.normal(size=(n, k)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = rng.integers(0, k - 3, size=n)  # some classes never true; some never predicted
    pred = probs.argmax(1)
    assert M.accuracy(y, probs) == pytest.approx(accuracy_score(y, pred))
    assert M.macro_f1(y, probs) == pytest.approx(f1_score(y, pred, average="macro", zero_division=0))
    assert M.nll(y, probs) == pytest.approx(log_loss(y, probs, labels=list(range(k))))
    onehot = np.eye(k)[y]
    assert M.brier(y, probs) == pytest.approx(np.mean(np.sum((probs - onehot) ** 2, 1)))
    np.testing.assert_array_equal(M.confusion(y, probs), confusion_matrix(y, pred, labels=list(range(k))))
    prf = M.per_class_prf(y, pred, k)
    np.testing.assert_allclose(prf["f1"], f1_score(y, pred, average=None, labels=list(range(k)), zero_division=0))


def test_binomial_stderr():
    assert M.binomial_stderr(3, 4) == pytest.approx(np.std([1, 1, 1, 0], ddof=1) / 2)
    assert np.isnan(M.binomial_stderr(1, 1))


@pytest.mark.parametrize("y, p, msg", [
    (np.array([0]), np.array([0.5, 0.5]), "2-D"),
    (np.array([0, 1]), np.array([[0.5, 0.5]]), "one entry per row"),
    (np.array([], dtype=int), np.zeros((0, 2)), "no examples"),
    (np.array([2]), np.array([[0.5, 0.5]]), "not a class id"),
    (np.array([0]), np.array([[0.5, 0.6]]), "sums to"),
    (np.array([0.0]), np.array([[0.5, 0.5]]), "integer"),
])
def test_bad_inputs(y, p, msg):
    with pytest.raises(ValueError, match=msg):
        M.accuracy(y, p)
