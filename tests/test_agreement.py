"""Agreement statistics against values worked out by hand (the arithmetic is in the comments): the libraries are
called by the code under test, never to make an expected number."""
from __future__ import annotations

import math

import pytest

from inspector.agreement import cohen_kappa, krippendorff_alpha, majority, score_agreement

NAN = math.nan

# Two annotators, ten items, keep (1) / drop (0):
KEEP_A = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
KEEP_B = [1, 1, 1, 1, 0, 0, 0, 0, 0, 1]


def test_cohen_kappa_keep_drop_by_hand():
    # agree on items 0-3 (keep) and 6-8 (drop): p_o = 7/10
    # A keeps 6/10, B keeps 5/10: p_e = .6 * .5 + .4 * .5 = .5
    # kappa = (.7 - .5) / (1 - .5) = .4
    assert cohen_kappa(KEEP_A, KEEP_B, scale=(0, 1), ordinal=False) == pytest.approx(0.4)


def test_cohen_kappa_quadratic_by_hand():
    # a = 0 1 2 2, b = 0 2 2 1 on 0..2; weights (i - j)^2
    # observed: (0,0) (1,2) (2,2) (2,1): sum w*O = 0 + 1 + 0 + 1 = 2
    # marginals a: {0:1, 1:1, 2:2}, b the same; E_ij = a_i * b_j / 4
    # sum w*E = [ (0,1) 1*1*1 + (0,2) 4*1*2 + (1,0) 1*1*1 + (1,2) 1*1*2 + (2,0) 4*2*1 + (2,1) 1*2*1 ] / 4 = 22/4
    # kappa = 1 - 2 / 5.5 = 7/11
    assert cohen_kappa([0, 1, 2, 2], [0, 2, 2, 1], scale=(0, 1, 2), ordinal=True) == pytest.approx(7 / 11)


def test_cohen_kappa_weights_follow_the_values_not_their_rank():
    # a = 0 1 5 5, b = 0 5 5 1 on 0..5: weights (i - j)^2 of the values themselves
    # observed: (0,0) (1,5) (5,5) (5,1): sum w*O = 0 + 16 + 0 + 16 = 32
    # marginals {0:1, 1:1, 5:2} both; sum w*E = [ (0,1) 1 + (0,5) 25*2 + (1,0) 1 + (1,5) 16*2 + (5,0) 25*2
    #                                             + (5,1) 16*2 ] / 4 = 166/4 = 41.5
    # kappa = 1 - 32 / 41.5 = 19/83 (ranks 0,1,2 instead of values would give 7/11)
    kappa = cohen_kappa([0, 1, 5, 5], [0, 5, 5, 1], scale=range(6), ordinal=True)
    assert kappa == pytest.approx(19 / 83)


def test_cohen_kappa_undefined():
    assert cohen_kappa([1], [1], scale=(0, 1), ordinal=False) is None
    assert cohen_kappa([1, 1, 1], [1, 1, 1], scale=(0, 1), ordinal=False) is None  # p_e = 1


def test_krippendorff_alpha_nominal_by_hand():
    # three annotators (rows), four items (columns), values 0/1
    # coincidences (each ordered pair within an item weighs 1/(m-1) = 1/2):
    #   item 1 (1,1,1): o11 += 3; item 2 (0,0,0): o00 += 3
    #   item 3 (1,1,0): o11 += 1, o10 += 1, o01 += 1; item 4 (0,0,1): o00 += 1, o01 += 1, o10 += 1
    # o00 = 4, o11 = 4, o01 = o10 = 2; n = 12, n_0 = n_1 = 6
    # alpha = 1 - (n - 1) * (o01 + o10) / (n_0 n_1 + n_1 n_0) = 1 - 11 * 4 / 72 = 7/18
    matrix = [[1, 0, 1, 0], [1, 0, 1, 0], [1, 0, 0, 1]]
    assert krippendorff_alpha(matrix, scale=(0, 1), ordinal=False) == pytest.approx(7 / 18)


def test_krippendorff_alpha_ordinal_by_hand_with_a_missing_label():
    # items: (0,0,1), (1,2,2), (2,2,-) on 0..2
    # coincidences: item 1 (m=3): o00 += 1, o01 += 1, o10 += 1; item 2 (m=3): o22 += 1, o12 += 1, o21 += 1;
    #   item 3 (m=2, weight 1): o22 += 2
    # n_0 = 2, n_1 = 2, n_2 = 4, n = 8
    # ordinal delta(c,k) = (sum_{g=c..k} n_g - (n_c + n_k)/2)^2:
    #   d01 = (4-2)^2 = 4, d12 = (6-3)^2 = 9, d02 = (8-3)^2 = 25
    # sum o*delta = 4 + 4 + 9 + 9 = 26; sum n_c n_k delta = 2 * (2*2*4 + 2*4*9 + 2*4*25) = 576
    # alpha = 1 - (n - 1) * 26 / 576 = 1 - 182/576 = 197/288
    matrix = [[0, 1, 2], [0, 2, 2], [1, 2, NAN]]
    assert krippendorff_alpha(matrix, scale=(0, 1, 2), ordinal=True) == pytest.approx(197 / 288)


def test_krippendorff_alpha_of_the_two_annotator_example():
    # KEEP_A / KEEP_B as two rows: each item is one pair (weight 1): o11 = 4*2 = 8, o00 = 3*2 = 6, o01 = o10 = 3
    # n = 20, n_0 = 9, n_1 = 11: alpha = 1 - 19 * 6 / (2 * 9 * 11) = 1 - 114/198 = 14/33
    assert krippendorff_alpha([KEEP_A, KEEP_B], scale=(0, 1), ordinal=False) == pytest.approx(14 / 33)


def test_krippendorff_alpha_undefined():
    assert krippendorff_alpha([[1, NAN], [NAN, 0]], scale=(0, 1), ordinal=False) is None  # nothing labelled twice
    assert krippendorff_alpha([[1, 1], [1, 1]], scale=(0, 1), ordinal=False) is None  # one value only
    assert krippendorff_alpha([[1, 0]], scale=(0, 1), ordinal=False) is None  # one annotator


def test_majority_and_ties():
    assert majority([1, 1, 0]) == 1
    assert majority([2, 2, 3]) == 2
    assert majority([4]) == 4
    assert majority([1, 0]) is None  # a tie has no majority: adjudicate
    assert majority([3, 3, 2, 2, 5]) is None
    assert majority([]) is None


def test_score_agreement_by_hand():
    scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    positive = [False, False, True, False, True, True]
    result = score_agreement(scores, positive, all_scores=scores, bins=3)
    # AUC: positive/negative pairs ranked right: 0.3 beats 0.1, 0.2 (2); 0.5 and 0.6 beat all three (6): 8/9
    assert result.roc_auc == pytest.approx(8 / 9)
    # score >= 0.3: wrong on 0.4 -> 5/6; >= 0.5: wrong on 0.3 -> 5/6; >= 0.4 or 0.6: 4/6. Tie: the higher, 0.5
    assert result.best_threshold == pytest.approx(0.5)
    assert result.best_accuracy == pytest.approx(5 / 6)
    # quantile edges (linear): 0.1, 0.2 + 2/3 * 0.1, 0.4 + 1/3 * 0.1, 0.6
    assert [b.lo for b in result.bins] == pytest.approx([0.1, 0.2 + 0.2 / 3, 0.4 + 0.1 / 3])
    assert [(b.items, b.positive) for b in result.bins] == [(2, 0), (2, 1), (2, 2)]
    assert [b.rate for b in result.bins] == [0.0, 0.5, 1.0]
    assert (result.items, result.positives) == (6, 3)


def test_score_agreement_one_class():
    result = score_agreement([0.2, 0.4], [True, True], all_scores=[0.2, 0.4, 0.9], bins=2)
    assert result.roc_auc is None
    assert [b.items for b in result.bins] == [1, 1]
