#!/usr/bin/env python3
"""Summarises issue 12's study (Notebooks-as-Scripts/study-metrics.sh) from its run folders.

Reads every RUN/report.json (schema rationale-rec/validate-rewards/2) under the study folder and
writes, into the figures folder:
  study.csv  tidy long table: dataset, split_method, reasoner, seed, metric, configuration,
             statistic, value, ci_lower, ci_upper, p_value, p_holm (one row per estimate)
  study.md   the headline tables (test part; configurations picked on valid)
  study.svg  ΔAUC of each new metric against ELLM's cosine, the history control and popularity,
             per split and seed, with 95 % intervals
Standard library only, so it runs wherever the study does.
"""
import csv
import json
import os
import re
import sys
from collections import defaultdict

NEW = ["learned-bilinear", "learned-both", "spec-softmax", "hybrid"]
SHOW = ["sbert-cosine", "calibrated-cosine", "spec-softmax", "hybrid", "bm25", "tfidf-cosine",
        "learned-bilinear", "learned-both", "learned-history", "learned-item", "centroid-cosine", "popularity"]


def base(name):
    return name.split(":", 1)[0]


def run_key(folder):
    """(dataset, split method, reasoner, seed) from a folder name such as
    ml-100k-leave-last-out-s2-aspect or synth-3-random-oracle."""
    m = re.match(r"^(ml-100k)-(random|leave-last-out|temporal)-s(\d+)-(\w+)$", folder)
    if m:
        return m.group(1), m.group(2), m.group(4), int(m.group(3))
    m = re.match(r"^synth-(\d+)-(random)-(\w+)$", folder)
    if m:
        return "synthetic", m.group(2), m.group(3), int(m.group(1))
    return None


def est(e):
    if not isinstance(e, dict) or e.get("value") is None:
        return None, None, None, None
    ci = e.get("ci") or [None, None]
    return e["value"], ci[0], ci[1], e.get("p_value")


def load(study):
    runs = []
    for folder in sorted(os.listdir(study)):
        path = os.path.join(study, folder, "report.json")
        key = run_key(folder)
        if key is None or not os.path.exists(path):
            continue
        with open(path) as f:
            doc = json.load(f)
        if doc.get("schema") != "rationale-rec/validate-rewards/2":
            sys.exit(f"{path}: unexpected schema {doc.get('schema')!r}")
        runs.append((key, doc))
    if not runs:
        sys.exit(f"no run folders with report.json under {study}")
    return runs


def tidy_rows(runs):
    rows = []
    for (dataset, method, reasoner, seed), doc in runs:
        head = dict(dataset=dataset, split_method=method, reasoner=reasoner, seed=seed)
        for m in doc["metrics"]:
            for stat in ["roc_auc", "ndcg", "mean_user_spearman", "incremental_auc_over_popularity",
                         "partial_spearman_given_popularity"]:
                v, lo, hi, p = est(m.get(stat))
                rows.append(dict(head, metric=base(m["metric"]), configuration=m["metric"], statistic=stat,
                                 value=v, ci_lower=lo, ci_upper=hi, p_value=p, p_holm=None))
            for s in m.get("by_popularity_stratum") or []:
                for stat in ["roc_auc", "incremental_auc_over_popularity"]:
                    v, lo, hi, p = est(s.get(stat))
                    rows.append(dict(head, metric=base(m["metric"]), configuration=m["metric"],
                                     statistic=f"{stat}@{s['stratum']}", value=v, ci_lower=lo, ci_upper=hi,
                                     p_value=p, p_holm=None))
        for c in doc["comparisons"]:
            if c["statistic"] != "auc":
                continue
            v, lo, hi, _ = est(c["difference"])
            rows.append(dict(head, metric=base(c["a"]), configuration=c["a"],
                             statistic=f"delta_auc_vs_{base(c['b'])}", value=v, ci_lower=lo, ci_upper=hi,
                             p_value=(c.get("p_bootstrap") or {}).get("value"),
                             p_holm=(c.get("p_holm") or {}).get("value")))
    return rows


def fmt(v, digits=3, sign=False):
    if v is None:
        return "—"
    s = f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"
    return s.replace("-", "−")


def headline(rows):
    by = defaultdict(list)
    for r in rows:
        by[(r["dataset"], r["split_method"], r["reasoner"], r["metric"], r["statistic"])].append(r)
    groups = sorted({(r["dataset"], r["split_method"], r["reasoner"]) for r in rows},
                    key=lambda g: (g[0] != "ml-100k", g[1] != "random", g[1], g[2]))
    seeds = sorted({r["seed"] for r in rows})
    out = []

    def cell(g, metric, stat, sign=False):
        rs = sorted(by.get(g + (metric, stat), []), key=lambda r: r["seed"])
        vals = [r["value"] for r in rs if r["value"] is not None]
        if not vals:
            return "—"
        mean = sum(vals) / len(vals)
        excl = sum(1 for r in rs if r["ci_lower"] is not None and (r["ci_lower"] > 0 or r["ci_upper"] < 0))
        span = f" ({fmt(min(vals), 3, sign)}…{fmt(max(vals), 3, sign)})" if len(vals) > 1 else ""
        tail = f"; CI ∌ 0 in {excl}/{len(rs)}" if stat.startswith(("delta", "incremental")) else ""
        return f"{fmt(mean, 3, sign)}{span}{tail}"

    out.append(f"Test part, configurations picked on valid by AUC; mean over split seeds {', '.join(map(str, seeds))} "
               "(range of the seeds' point estimates). For differences, how many seeds' 95 % cluster-bootstrap "
               "interval excludes 0.\n")
    out.append("### ROC-AUC\n")
    out.append("| metric | " + " | ".join(f"{d} {m} {r}" for d, m, r in groups) + " |")
    out.append("|---|" + "---:|" * len(groups))
    for metric in SHOW:
        out.append(f"| {metric} | " + " | ".join(cell(g, metric, "roc_auc") for g in groups) + " |")
    for title, stat, metrics in [
        ("ΔAUC against ELLM's sbert-cosine", "delta_auc_vs_sbert-cosine", NEW + ["learned-history"]),
        ("ΔAUC against the history control centroid-cosine", "delta_auc_vs_centroid-cosine", NEW + ["sbert-cosine", "learned-history"]),
        ("ΔAUC against learned-history (the same learned form with the user's liked items in the rationale's place)",
         "delta_auc_vs_learned-history", ["learned-bilinear", "learned-both"]),
        ("Incremental AUC over popularity (cross-fitted liked ~ popularity + score, minus liked ~ popularity)",
         "incremental_auc_over_popularity", SHOW[:-1]),
        ("Incremental AUC over popularity on the tail tercile of items", "incremental_auc_over_popularity@tail", SHOW[:-1]),
    ]:
        out.append(f"\n### {title}\n")
        out.append("| metric | " + " | ".join(f"{d} {m} {r}" for d, m, r in groups) + " |")
        out.append("|---|" + "---:|" * len(groups))
        for metric in metrics:
            out.append(f"| {metric} | " + " | ".join(cell(g, metric, stat, sign=True) for g in groups) + " |")
    picks = defaultdict(set)
    for r in rows:
        if r["statistic"] == "roc_auc" and r["configuration"] != r["metric"]:
            picks[(r["dataset"], r["reasoner"], r["metric"])].add(r["configuration"].split(":", 1)[1])
    if picks:
        out.append("\n### Configurations picked on valid (non-default ones)\n")
        for (d, r, m), cs in sorted(picks.items()):
            out.append(f"- {d} {r}, `{m}`: {', '.join(sorted(cs))}")
    return "\n".join(out) + "\n"


def svg(rows):
    """Forest plot: ΔAUC of each new metric against three references, one line per run."""
    refs = ["sbert-cosine", "centroid-cosine", "learned-history"]
    items = [r for r in rows if r["metric"] in NEW and r["statistic"] in [f"delta_auc_vs_{x}" for x in refs]
             and r["value"] is not None]
    items.sort(key=lambda r: (r["statistic"], r["metric"], r["dataset"], r["split_method"], r["reasoner"], r["seed"]))
    if not items:
        return None
    lo = min(min(r["ci_lower"] or r["value"] for r in items), 0) - 0.01
    hi = max(max(r["ci_upper"] or r["value"] for r in items), 0) + 0.01

    def label(r):
        return f"{r['metric']} − {r['statistic'].replace('delta_auc_vs_', '')} · {r['dataset']} {r['split_method']} {r['reasoner']} s{r['seed']}"

    def color(r):
        excl = r["ci_lower"] is not None and (r["ci_lower"] > 0 or r["ci_upper"] < 0)
        return "#1f77b4" if excl else "#999"

    return forest_plot(items, "ΔAUC on test (95 % cluster-bootstrap CI), configurations picked on valid", lo, hi, 0,
                       label, color, [lo + k * (hi - lo) / 5 for k in range(6)], "{:+.2f}", left=330)


def forest_plot(items, title, lo, hi, reference, label, color, ticks, tick_format, left=330):
    """One line per item: its value as a dot, its 95 % interval as a bar, a dashed line at `reference`."""
    w, right, row_h, top = 760, 30, 14, 40
    h = top + row_h * len(items) + 40
    x = lambda v: left + (min(max(v, lo), hi) - lo) / (hi - lo) * (w - left - right)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="10">',
             f'<text x="{w/2}" y="16" text-anchor="middle" font-size="13">{title}</text>',
             f'<line x1="{x(reference):.1f}" y1="{top-6}" x2="{x(reference):.1f}" y2="{h-30}" stroke="#888" stroke-dasharray="3,3"/>']
    for i, r in enumerate(items):
        y = top + i * row_h
        c = color(r)
        parts.append(f'<text x="{left-6}" y="{y+4}" text-anchor="end">{label(r)}</text>')
        if r["ci_lower"] is not None:
            parts.append(f'<line x1="{x(r["ci_lower"]):.1f}" y1="{y}" x2="{x(r["ci_upper"]):.1f}" y2="{y}" stroke="{c}" stroke-width="2"/>')
        parts.append(f'<circle cx="{x(r["value"]):.1f}" cy="{y}" r="3" fill="{c}"/>')
    for t in ticks:
        parts.append(f'<text x="{x(t):.1f}" y="{h-14}" text-anchor="middle">{tick_format.format(t)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_outputs(figures, stem, rows, cols, markdown, svg_text):
    """STEM.csv (tidy), STEM.md and, when there is one, STEM.svg in the figures folder."""
    os.makedirs(figures, exist_ok=True)
    write_tidy_csv(os.path.join(figures, f"{stem}.csv"), rows, cols)
    with open(os.path.join(figures, f"{stem}.md"), "w") as f:
        f.write(markdown)
    if svg_text:
        with open(os.path.join(figures, f"{stem}.svg"), "w") as f:
            f.write(svg_text)


def write_tidy_csv(path, rows, cols):
    """Rows as a CSV pandas reads: empty cells for None, floats with 9 significant digits."""
    with open(path, "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=cols)
        wr.writeheader()
        for r in rows:
            wr.writerow({k: ("" if r[k] is None else (f"{r[k]:.9g}" if isinstance(r[k], float) else r[k])) for k in cols})


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: study_summary.py STUDY_FOLDER FIGURES_FOLDER")
    study, figures = sys.argv[1], sys.argv[2]
    rows = tidy_rows(load(study))
    os.makedirs(figures, exist_ok=True)
    cols = ["dataset", "split_method", "reasoner", "seed", "metric", "configuration", "statistic", "value",
            "ci_lower", "ci_upper", "p_value", "p_holm"]
    write_outputs(figures, "study", rows, cols, headline(rows), svg(rows))
    print(f"study_summary: {len(rows)} rows from {len({(r['dataset'], r['split_method'], r['reasoner'], r['seed']) for r in rows})} runs")


if __name__ == "__main__":
    main()
