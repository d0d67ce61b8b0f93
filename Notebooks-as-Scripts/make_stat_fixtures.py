#!/usr/bin/env python3
"""Reference values for the RecEvaluation statistics, computed with scipy/numpy.

Writes Tests/RecEvaluationTests/Fixtures/stat-fixtures.json. The Swift tests
(Tests/RecEvaluationTests/FixtureTests.swift) recompute every value and compare.

    python3 Notebooks-as-Scripts/make_stat_fixtures.py

Conventions mirrored here (see Docs/evaluation-statistics.md):
  * correlations: scipy.stats.pearsonr / spearmanr / kendalltau (variant 'b');
    scipy returns nan for constant input -> recorded as null ("undefined").
  * ROC-AUC: Mann-Whitney U / (n1 * n0) with average ranks for ties, which is what
    sklearn.metrics.roc_auc_score computes; one class only -> null.
  * NDCG@k / Recall@k / HR@k / MRR@k: RecBole's definitions (binary relevance, ideal
    DCG over min(#relevant, k) positions), plus the graded gain 2^rel - 1 variant.
    Tie rules: 'stable' (score descending, then input order), 'pessimistic'
    (relevant items last within a tie), 'optimistic' and 'expected' (mean over every
    ordering of each tied group; computed here by brute-force enumeration, an
    independent check of the closed form used in Swift).
  * Student t quantiles: scipy.stats.t.ppf.
"""
import itertools
import json
import math
import os
import warnings

import numpy as np
from scipy import stats

warnings.simplefilter("ignore")  # ConstantInputWarning etc.: nan is what we record


def undefined_or(v):
    v = float(v)
    return None if math.isnan(v) else v


def correlation_cases():
    rng = np.random.default_rng(20240501)
    cases = [
        ("simple", [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]),
        ("ties_both", [1, 2, 2, 3, 3, 3, 4], [1, 1, 2, 2, 3, 3, 3]),
        ("ties_x_only", [1, 1, 1, 2, 2, 3, 4, 5], [3, 1, 4, 1.5, 9, 2.6, 5, 3.5]),
        ("ratings_like", [5, 4, 4, 3, 1, 2, 5, 3, 4, 2, 1, 5],
                         [0.9, 0.7, 0.7, 0.5, 0.1, 0.1, 0.8, 0.6, 0.2, 0.3, 0.3, 0.95]),
        ("negative", [1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]),
        ("all_ties_y_but_one", [1, 2, 3, 4], [1, 1, 1, 2]),
        ("constant_x", [3, 3, 3, 3], [1, 2, 3, 4]),
        ("constant_y", [1, 2, 3, 4], [0.5, 0.5, 0.5, 0.5]),
        ("two_points", [1, 2], [3, 1]),
        ("large_offset", [1e6 + 1, 1e6 + 2, 1e6 + 3, 1e6 + 4], [7, 8, 10, 9]),
    ]
    for i, n in enumerate([30, 200, 1000]):
        x = rng.normal(size=n)
        y = 0.5 * x + rng.normal(size=n)
        cases.append((f"random_normal_{n}", x.tolist(), y.tolist()))
        # heavy ties: integer ratings against a rounded score
        r = rng.integers(1, 6, size=n)
        s = np.round(r * 0.3 + rng.normal(size=n), 1)
        cases.append((f"random_ties_{n}", r.astype(float).tolist(), s.tolist()))
    out = []
    for name, x, y in cases:
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        out.append({
            "name": name, "x": x.tolist(), "y": y.tolist(),
            "pearson": undefined_or(stats.pearsonr(x, y)[0]),
            "spearman": undefined_or(stats.spearmanr(x, y)[0]),
            "kendall_tau_b": undefined_or(stats.kendalltau(x, y, variant="b")[0]),
        })
    return out


def auc(scores, labels):
    scores = np.asarray(scores, float)
    labels = np.asarray(labels, bool)
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        return None
    u = stats.mannwhitneyu(pos, neg, alternative="two-sided").statistic
    return float(u) / (len(pos) * len(neg))


def auc_cases():
    rng = np.random.default_rng(7)
    cases = [
        ("perfect", [0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0]),
        ("inverted", [0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0]),
        ("all_tied", [0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0]),
        ("ties_across_classes", [0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.1], [0, 0, 1, 1, 1, 0, 1]),
        ("zeros_heavy", [0, 0, 0, 0, 0.7, 0, 0.9, 0, 0.2, 0], [0, 1, 0, 0, 1, 0, 1, 1, 0, 0]),
        ("one_class_pos", [0.1, 0.2, 0.3], [1, 1, 1]),
        ("one_class_neg", [0.1, 0.2, 0.3], [0, 0, 0]),
    ]
    for n in [50, 500]:
        labels = rng.integers(0, 2, size=n)
        scores = np.round(labels * 0.4 + rng.normal(size=n), 1)
        cases.append((f"random_{n}", scores.tolist(), labels.tolist()))
    return [{"name": n, "scores": [float(v) for v in s], "labels": [bool(v) for v in l],
             "auc": auc(s, l)} for n, s, l in cases]


def dcg_of_order(gains, k):
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))


def metrics_of_order(rel_in_order, k, graded, n_relevant, ideal_rel):
    """RecBole definitions on one fixed ordering; rel_in_order are relevance grades."""
    hits = [1.0 if r > 0 else 0.0 for r in rel_in_order]
    if graded:
        gains = [2.0 ** r - 1.0 for r in rel_in_order]
        ideal = sorted((2.0 ** r - 1.0 for r in ideal_rel), reverse=True)
    else:
        gains = hits
        ideal = [1.0] * min(n_relevant, k)
    idcg = dcg_of_order(ideal, k)
    ndcg = dcg_of_order(gains, k) / idcg
    top = hits[:k]
    recall = sum(top) / n_relevant
    hr = 1.0 if sum(top) > 0 else 0.0
    mrr = 0.0
    for i, h in enumerate(top):
        if h > 0:
            mrr = 1.0 / (i + 1)
            break
    return {"ndcg": ndcg, "recall": recall, "hit": hr, "mrr": mrr}


def group_ties(scores):
    """Distinct scores descending, each with its item indices in input order."""
    order = np.argsort(-np.asarray(scores, float), kind="stable")
    groups = []
    for idx in order:
        if groups and scores[groups[-1][0]] == scores[idx]:
            groups[-1].append(int(idx))
        else:
            groups.append([int(idx)])
    return groups


def ranking_metrics(scores, rel, k, graded, rule):
    rel = list(rel)
    n_relevant = sum(1 for r in rel if r > 0)
    if n_relevant == 0:
        return None
    groups = group_ties(scores)
    if rule == "stable":
        orders = [[i for g in groups for i in g]]
    elif rule == "pessimistic":
        orders = [[i for g in groups for i in sorted(g, key=lambda j: (rel[j], j))]]
    elif rule == "optimistic":
        orders = [[i for g in groups for i in sorted(g, key=lambda j: (-rel[j], j))]]
    elif rule == "expected":
        perms = [list(itertools.permutations(g)) for g in groups]
        orders = [[i for p in combo for i in p] for combo in itertools.product(*perms)]
    else:
        raise ValueError(rule)
    acc = None
    for order in orders:
        m = metrics_of_order([rel[i] for i in order], k, graded, n_relevant, rel)
        acc = m if acc is None else {key: acc[key] + m[key] for key in acc}
    return {key: v / len(orders) for key, v in acc.items()}


def ranking_cases():
    rng = np.random.default_rng(11)
    cases = [
        ("no_ties", [0.9, 0.1, 0.5, 0.7, 0.3, 0.2], [0, 1, 1, 0, 1, 0]),
        ("ties_at_top", [0.8, 0.8, 0.8, 0.5, 0.4, 0.8], [0, 1, 0, 1, 0, 0]),
        ("ties_across_cutoff", [0.9, 0.6, 0.6, 0.6, 0.6, 0.1, 0.0], [0, 0, 1, 0, 1, 1, 0]),
        ("all_tied", [0.0] * 7, [0, 1, 0, 0, 1, 0, 0]),
        ("graded", [0.2, 0.9, 0.9, 0.4, 0.1, 0.4, 0.7, 0.0], [3, 1, 0, 2, 4, 0, 5, 1]),
        ("many_relevant", [0.5, 0.4, 0.4, 0.3, 0.2, 0.1, 0.1, 0.05], [1, 1, 1, 1, 1, 1, 0, 1]),
        ("no_relevant", [0.5, 0.4, 0.3], [0, 0, 0]),
    ]
    for t in range(3):
        n = 9
        s = np.round(rng.uniform(size=n), 1).tolist()
        s = [float(v) for v in np.round(np.asarray(s) * 3) / 3]  # coarse scores: many ties
        r = rng.integers(0, 4, size=n).tolist()
        cases.append((f"random_{t}", s, r))
    out = []
    for name, s, r in cases:
        for k in [1, 3, 5, 10]:
            for graded in [False, True]:
                entry = {"name": name, "scores": [float(v) for v in s], "relevance": [float(v) for v in r],
                         "k": k, "graded": graded}
                for rule in ["stable", "pessimistic", "optimistic", "expected"]:
                    entry[rule] = ranking_metrics(s, r, k, graded, rule)
                out.append(entry)
    return out


def t_quantiles():
    out = []
    for df in [1, 2, 3, 4, 5, 7, 9, 10, 19, 29, 30, 49, 99, 999, 2.5, 0.5]:
        for p in [0.5, 0.6, 0.9, 0.95, 0.975, 0.99, 0.995, 0.9995, 0.025, 0.001, 1e-6]:
            out.append({"df": df, "p": p, "q": float(stats.t.ppf(p, df))})
    return out


def normal_quantiles():
    return [{"p": p, "q": float(stats.norm.ppf(p))}
            for p in [1e-12, 1e-6, 0.001, 0.025, 0.1, 0.3, 0.5, 0.7, 0.9, 0.975, 0.999, 1 - 1e-9]]


def mean_intervals():
    rng = np.random.default_rng(3)
    out = []
    for n in [2, 3, 5, 10]:
        v = rng.normal(0.3, 0.05, size=n)
        m = float(np.mean(v))
        se = float(stats.sem(v))
        lo, hi = stats.t.interval(0.95, n - 1, loc=m, scale=se)
        out.append({"values": v.tolist(), "mean": m, "lower": float(lo), "upper": float(hi)})
    return out


def spearman_per_user():
    rng = np.random.default_rng(5)
    users = []
    for u in range(12):
        n = int(rng.integers(1, 8))
        x = rng.integers(1, 6, size=n).astype(float)
        if u == 3:
            x = np.full(max(n, 3), 4.0)  # constant ratings -> undefined, excluded
        y = np.round(x * 0.2 + rng.normal(size=len(x)), 1)
        users.append({"x": x.tolist(), "y": y.tolist()})
    min_count = 3
    vals = []
    too_few = 0
    undefined = 0
    for g in users:
        if len(g["x"]) < min_count:
            too_few += 1
            continue
        r = stats.spearmanr(g["x"], g["y"])[0]
        if math.isnan(r):
            undefined += 1
            continue
        vals.append(r)
    return {"users": users, "min_count": min_count, "mean": float(np.mean(vals)),
            "included": len(vals), "too_few": too_few, "undefined": undefined}


def holm():
    p = [0.01, 0.04, 0.03, 0.005, 0.5]
    # Holm step-down, independent implementation through numpy
    order = np.argsort(p)
    m = len(p)
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return {"p": p, "adjusted": adj.tolist()}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "Tests", "RecEvaluationTests", "Fixtures", "stat-fixtures.json")
    data = {
        "generator": "Notebooks-as-Scripts/make_stat_fixtures.py",
        "scipy": __import__("scipy").__version__,
        "numpy": np.__version__,
        "correlations": correlation_cases(),
        "auc": auc_cases(),
        "ranking": ranking_cases(),
        "t_quantiles": t_quantiles(),
        "normal_quantiles": normal_quantiles(),
        "mean_intervals": mean_intervals(),
        "spearman_per_user": spearman_per_user(),
        "holm": holm(),
    }
    with open(os.path.normpath(path), "w") as f:
        json.dump(data, f, indent=1, allow_nan=False)
        f.write("\n")
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
