#!/usr/bin/env python3
"""Summarises issue 11's LLM study (Notebooks-as-Scripts/study-llm.sh) from its run folders.

The study folder holds, per dataset (ml-100k, synth-1) and LLM mode (open, closed), validation
folders named DATASET-MODE-REASONER (REASONER: openai, aspect, oracle; for open mode also
filtered-openai and filtered-aspect, restricted to the users the quality filter keeps), every one
restricted to the same users (validate-rewards --users-of-run), and quality/DATASET-MODE.json and
quality/DATASET-aspect.json (rec-data rationales-show --quality --json).

Writes into the figures folder:
  llm.csv  tidy long table: dataset, mode, users_of, reasoner, metric, configuration, statistic,
           value, ci_lower, ci_upper, p_value (one row per estimate, including the paired
           reasoner differences "delta_auc_vs_aspect" / "delta_auc_vs_openai")
  llm.md   the quality table and the validation tables (test part; configurations picked on valid)
  llm.svg  ROC-AUC per reasoner and metric with 95 % cluster-bootstrap intervals

The paired reasoner differences (SmolLM2 − aspect on the same held-out pairs) are computed here:
each validation folder's pairs.csv holds every (user, item) score, the two runs cover the same
users, and the difference of ROC-AUCs gets a paired cluster bootstrap over users (1000 resamples,
seed 1, percentile interval) with the bootstrap p-value validate-rewards uses (replicates
recentred on the null). Standard library only.
"""
import csv
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from study_summary import base, est, fmt, forest_plot, write_outputs  # noqa: E402

METRICS = ["sbert-cosine", "calibrated-cosine", "bm25", "learned-bilinear", "learned-both", "learned-history", "popularity"]
PAIRED = ["sbert-cosine", "learned-both"]
REASONERS = ["openai", "aspect", "oracle", "filtered-openai", "filtered-aspect"]
LABEL = {"openai": "SmolLM2-135M", "aspect": "aspect", "oracle": "oracle (true statements)",
         "filtered-openai": "SmolLM2-135M, quality-filtered", "filtered-aspect": "aspect (same users)"}


def folders(study):
    out = []
    for name in sorted(os.listdir(study)):
        path = os.path.join(study, name)
        if not os.path.exists(os.path.join(path, "report.json")):
            continue
        for dataset in ["ml-100k", "synth-1"]:
            for mode in ["open", "closed"]:
                prefix = f"{dataset}-{mode}-"
                if name.startswith(prefix) and name[len(prefix):] in REASONERS:
                    out.append((dataset, mode, name[len(prefix):], path))
    if not out:
        sys.exit(f"no validation folders under {study}")
    return out


def picked_configuration(doc, metric):
    for p in (doc.get("selection") or {}).get("picked", []):
        if p["metric"] == metric:
            return p["configuration"]
    return metric


def read_pairs(path, columns):
    with open(os.path.join(path, "pairs.csv")) as f:
        rows = list(csv.DictReader(f))
    return {(r["user_id"], r["item_id"]): (r["liked"] in ("1", "true", "True"), [float(r[c]) for c in columns]) for r in rows}


class PairedAUC:
    """ROC-AUC of two score columns on the same labelled pairs, weighted by user multiplicities."""

    def __init__(self, users, labels, a, b):
        ids = sorted(set(users))
        index = {u: i for i, u in enumerate(ids)}
        self.n_users = len(ids)
        self.user = [index[u] for u in users]
        self.labels = labels
        self.orders = [self._groups(a), self._groups(b)]

    @staticmethod
    def _groups(scores):
        order = sorted(range(len(scores)), key=lambda i: scores[i])
        groups, start = [], 0
        for k in range(1, len(order) + 1):
            if k == len(order) or scores[order[k]] != scores[order[start]]:
                groups.append(order[start:k])
                start = k
        return groups

    def auc(self, which, m):
        below = 0.0  # negative weight strictly below
        num = pos = neg = 0.0
        for group in self.orders[which]:
            gp = gn = 0.0
            for i in group:
                w = m[self.user[i]]
                if self.labels[i]:
                    gp += w
                else:
                    gn += w
            num += gp * (below + 0.5 * gn)
            below += gn
            pos += gp
            neg += gn
        return num / (pos * neg) if pos > 0 and neg > 0 else None

    def compare(self, resamples=1000, seed=1):
        ones = [1.0] * self.n_users
        a0, b0 = self.auc(0, ones), self.auc(1, ones)
        d0 = a0 - b0
        rng = random.Random(seed)
        reps = []
        for _ in range(resamples):
            m = [0.0] * self.n_users
            for _ in range(self.n_users):
                m[rng.randrange(self.n_users)] += 1
            a, b = self.auc(0, m), self.auc(1, m)
            if a is not None and b is not None:
                reps.append(a - b)
        reps.sort()
        lo, hi = reps[int(0.025 * (len(reps) - 1))], reps[int(0.975 * (len(reps) - 1))]
        p = (1 + sum(1 for r in reps if abs(r - d0) >= abs(d0))) / (len(reps) + 1)
        return a0, b0, d0, lo, hi, p


def paired_rows(runs):
    """SmolLM2 − aspect (and − oracle on the synthetic world) per metric, on the same pairs."""
    rows = []
    by = {(d, m, r): (path, doc) for d, m, r, path, doc in runs}
    for (dataset, mode, reasoner), (path, doc) in sorted(by.items()):
        refs = {"openai": ["aspect", "oracle"], "filtered-openai": ["filtered-aspect"]}.get(reasoner, [])
        for ref in refs:
            if (dataset, mode, ref) not in by:
                continue
            rpath, rdoc = by[(dataset, mode, ref)]
            for metric in PAIRED:
                ca, cb = picked_configuration(doc, metric), picked_configuration(rdoc, metric)
                a = read_pairs(path, [f"{ca}.score"])
                b = read_pairs(rpath, [f"{cb}.score"])
                keys = sorted(set(a) & set(b))
                if len(keys) != len(a) or len(keys) != len(b):
                    sys.exit(f"{path} and {rpath} do not hold the same held-out pairs ({len(a)}, {len(b)}, {len(keys)} shared)")
                test = PairedAUC([k[0] for k in keys], [a[k][0] for k in keys], [a[k][1][0] for k in keys], [b[k][1][0] for k in keys])
                _, _, d, lo, hi, p = test.compare()
                rows.append(dict(dataset=dataset, mode=mode, users_of=users_of(reasoner), reasoner=reasoner, metric=metric,
                                 configuration=f"{ca} vs {cb}", statistic=f"delta_auc_vs_{ref}", value=d, ci_lower=lo,
                                 ci_upper=hi, p_value=p))
    return rows


def users_of(reasoner):
    return "filtered" if reasoner.startswith("filtered") else "llm-run"


def tidy_rows(runs):
    rows = []
    for dataset, mode, reasoner, _, doc in runs:
        head = dict(dataset=dataset, mode=mode, users_of=users_of(reasoner), reasoner=reasoner)
        data = doc.get("data") or {}
        for key in ["users", "held_out_pairs"]:
            if isinstance(data.get(key), (int, float)):
                rows.append(dict(head, metric="", configuration="", statistic=key, value=float(data[key]),
                                 ci_lower=None, ci_upper=None, p_value=None))
        for m in doc["metrics"]:
            for stat in ["roc_auc", "incremental_auc_over_popularity", "partial_spearman_given_popularity", "ndcg"]:
                v, lo, hi, p = est(m.get(stat))
                rows.append(dict(head, metric=base(m["metric"]), configuration=m["metric"], statistic=stat, value=v,
                                 ci_lower=lo, ci_upper=hi, p_value=p))
    return rows


def quality_table(study):
    qdir = os.path.join(study, "quality")
    if not os.path.isdir(qdir):
        return ""
    runs = sorted(f[:-5] for f in os.listdir(qdir) if f.endswith(".json"))
    lines = ["| run | users | with ≥ 1 rationale | with ≥ 1 ok | rationales / user | ok | near-copy | meta-talk (by class) | duplicated across users | distinct | mean words |",
             "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"]
    for name in runs:
        with open(os.path.join(qdir, name + ".json")) as f:
            q = json.load(f)
        n, users = q["rationales"], q["users"]
        cc = q["classCounts"]
        meta = {k: v for k, v in cc.items() if k not in ("ok", "near-copy") and v}
        share = lambda x: f"{x} ({100 * x / n:.1f} %)" if n else "0"
        lines.append(f"| {name} | {users} | {q['usersWithRationale']} | {q['usersWithOK']} | {n / max(users, 1):.2f} | {share(cc.get('ok', 0))} | "
                     f"{share(cc.get('near-copy', 0))} | {share(sum(meta.values()))}: {', '.join(f'{k} {v}' for k, v in sorted(meta.items(), key=lambda kv: -kv[1])) or '—'} | "
                     f"{share(q['crossUserDuplicates'])} | {q['distinctTexts']} | {q['meanWords']:.1f} |")
    return "\n".join(lines) + "\n"


def interval(r):
    if r is None or r["value"] is None:
        return "—"
    ci = f" [{fmt(r['ci_lower'])}, {fmt(r['ci_upper'])}]" if r["ci_lower"] is not None else ""
    return fmt(r["value"]) + ci


def validation_tables(rows):
    out = []
    groups = sorted({(r["dataset"], r["mode"], r["users_of"]) for r in rows})
    for dataset, mode, uo in groups:
        g = [r for r in rows if (r["dataset"], r["mode"], r["users_of"]) == (dataset, mode, uo)]
        reasoners = [x for x in REASONERS if any(r["reasoner"] == x for r in g)]
        users = {r["reasoner"]: r["value"] for r in g if r["statistic"] == "users"}
        pairs = {r["reasoner"]: r["value"] for r in g if r["statistic"] == "held_out_pairs"}
        who = "users the quality filter keeps" if uo == "filtered" else "users of the LLM run"
        out.append(f"\n**{dataset}, SmolLM2 {mode} mode, {who}** "
                   f"({int(users.get(reasoners[0], 0))} users, {int(pairs.get(reasoners[0], 0))} test pairs)\n")
        out.append("| metric | " + " | ".join(f"ROC-AUC: {LABEL[x]}" for x in reasoners) + " | " +
                   " | ".join(f"incremental AUC over popularity: {LABEL[x]}" for x in reasoners) + " |")
        out.append("|---|" + "---:|" * (2 * len(reasoners)))
        for metric in METRICS:
            def pick(x, stat):
                return next((r for r in g if r["reasoner"] == x and r["metric"] == metric and r["statistic"] == stat), None)
            if not any(pick(x, "roc_auc") for x in reasoners):
                continue
            out.append(f"| {metric} | " + " | ".join(interval(pick(x, "roc_auc")) for x in reasoners) + " | " +
                       " | ".join(interval(pick(x, "incremental_auc_over_popularity")) for x in reasoners) + " |")
    return "\n".join(out) + "\n"


def paired_table(rows):
    p = [r for r in rows if r["statistic"].startswith("delta_auc_vs_")]
    if not p:
        return ""
    lines = ["| dataset | mode | users | difference | metric (configurations) | ΔAUC [95 % paired cluster bootstrap] | p |",
             "|---|---|---|---|---|---:|---:|"]
    for r in p:
        ref = r["statistic"].replace("delta_auc_vs_", "")
        lines.append(f"| {r['dataset']} | {r['mode']} | {r['users_of']} | {LABEL[r['reasoner']]} − {LABEL[ref]} | {r['metric']} ({r['configuration']}) | "
                     f"{fmt(r['value'], sign=True)} [{fmt(r['ci_lower'], sign=True)}, {fmt(r['ci_upper'], sign=True)}] | {fmt(r['p_value'])} |")
    return "\n".join(lines) + "\n"


def svg(rows):
    items = [r for r in rows if r["statistic"] == "roc_auc" and r["metric"] in ("sbert-cosine", "learned-both") and r["value"] is not None]
    items.sort(key=lambda r: (r["dataset"], r["mode"], r["users_of"], r["metric"], REASONERS.index(r["reasoner"])))
    if not items:
        return None
    colors = {"openai": "#d62728", "filtered-openai": "#ff9896", "aspect": "#1f77b4", "filtered-aspect": "#aec7e8", "oracle": "#2ca02c"}
    return forest_plot(items, "ROC-AUC on test (95 % cluster-bootstrap CI): SmolLM2-135M rationales beside aspect and oracle", 0.4, 1.0, 0.5,
                       lambda r: f"{r['dataset']} {r['mode']} ({r['users_of']}) · {r['metric']} · {LABEL[r['reasoner']]}",
                       lambda r: colors[r["reasoner"]], [0.4 + k * 0.1 for k in range(7)], "{:.2f}", left=360)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: llm_summary.py STUDY_FOLDER FIGURES_FOLDER")
    study, figures = sys.argv[1], sys.argv[2]
    runs = []
    for dataset, mode, reasoner, path in folders(study):
        with open(os.path.join(path, "report.json")) as f:
            doc = json.load(f)
        if doc.get("schema") != "rationale-rec/validate-rewards/2":
            sys.exit(f"{path}/report.json: unexpected schema {doc.get('schema')!r}")
        runs.append((dataset, mode, reasoner, path, doc))
    rows = tidy_rows(runs) + paired_rows(runs)
    cols = ["dataset", "mode", "users_of", "reasoner", "metric", "configuration", "statistic", "value", "ci_lower", "ci_upper", "p_value"]
    md = ["## Rationale quality (rec-data rationales-show --quality)\n", quality_table(study),
          "\n## Validation on the test part (configurations picked on valid)\n", validation_tables(rows),
          "\n## Paired differences between reasoners (same users, same held-out pairs)\n", paired_table(rows)]
    write_outputs(figures, "llm", rows, cols, "\n".join(md), svg(rows))
    print(f"llm_summary: {len(rows)} rows from {len(runs)} validations")


if __name__ == "__main__":
    main()
