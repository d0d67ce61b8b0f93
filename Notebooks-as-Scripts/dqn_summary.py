#!/usr/bin/env python3
"""Tables and a figure for issue 13's agent study (study-dqn.sh); standard library only.

    dqn_summary.py pick OUT              the sweep configuration with the best validation NDCG@10
                                         (ties: HR@10), as "name|flags"
    dqn_summary.py summary OUT FIGURES   FIGURES/dqn-sweep.{csv,md}, dqn-final.{csv,md},
                                         dqn-compare.{csv,md,svg} from whatever stages have run

Every figure comes from rec-train's own outputs (comparison.csv, paired-users.csv): per-seed rows
are summarised here as mean and 95 % Student-t interval over seeds; the paired tests over users are
rec-train's (cluster bootstrap interval, sign-flip p, Holm over its table), copied, not recomputed.
"""
import csv
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from study_summary import fmt, forest_plot, write_outputs  # noqa: E402

# Two-sided 95 % Student-t quantiles by degrees of freedom (1–30); beyond, the normal's.
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
POINTS = {"zero-shot": "zero-shot", "fine-tuned": "fine-tuned"}
METRICS = ["hr@10", "ndcg@10", "mean_rating"]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def number(text):
    return float(text) if text not in ("", None) else None


def mean_ci(values):
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None, None, None
    m = sum(values) / len(values)
    if len(values) < 2:
        return m, None, None
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    t = T975[len(values) - 2] if len(values) - 1 <= len(T975) else 1.96
    half = t * sd / math.sqrt(len(values))
    return m, m - half, m + half


def sweep_rows(out):
    rows = []
    folder = os.path.join(out, "sweep")
    if not os.path.isdir(folder):
        return rows
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name, "comparison.csv")
        if not os.path.isfile(path):
            continue
        flags_path = os.path.join(folder, name, "flags.txt")
        flags = open(flags_path).read().strip() if os.path.isfile(flags_path) else ""
        table = read_csv(path)
        agent = next(r for r in table if r["method"] == "dqn-extrinsic" and r["point"] == "fine-tuned")
        pop = next(r for r in table if r["method"] == "popularity" and r["point"] == "fine-tuned")
        rows.append({"configuration": name, "flags": flags, "part": "validation",
                     "hr@10": number(agent["hr@10"]), "ndcg@10": number(agent["ndcg@10"]),
                     "popularity_hr@10": number(pop["hr@10"]), "popularity_ndcg@10": number(pop["ndcg@10"]),
                     "seconds": number(agent["seconds"])})
    return rows


def pick(out):
    rows = sweep_rows(out)
    if not rows:
        sys.exit(f"no sweep results under {out}/sweep")
    best = max(rows, key=lambda r: (r["ndcg@10"], r["hr@10"]))
    return f'{best["configuration"]}|{best["flags"]}'


def paired_rows(path, dataset):
    if not os.path.isfile(path):
        return []
    rows = []
    for r in read_csv(path):
        if r["metric"] not in METRICS:
            continue
        rows.append({"dataset": dataset, "method": r["method"], "reference": r["reference"], "metric": r["metric"],
                     "point": r["point"], "users": int(r["users"]), "seeds": int(r["seeds"]),
                     "difference": number(r["difference"]), "ci_lower": number(r["ci_lower"]), "ci_upper": number(r["ci_upper"]),
                     "p_sign_flip": number(r["p_sign_flip"]), "p_holm": number(r["p_holm"])})
    return rows


def seed_summary(path, dataset):
    table = read_csv(path)
    rows = []
    for method in dict.fromkeys(r["method"] for r in table):
        for point in POINTS:
            sel = [r for r in table if r["method"] == method and r["point"] == point]
            for metric in METRICS:
                m, lo, hi = mean_ci([number(r[metric]) for r in sel])
                rows.append({"dataset": dataset, "method": method, "point": point, "metric": metric,
                             "seeds": len(sel), "value": m, "ci_lower": lo, "ci_upper": hi})
    return rows


def user_means(path, method, point, metric):
    """Each user's value of `metric` averaged over the seeds (users.csv of a compare folder)."""
    sums = {}
    for r in read_csv(path):
        if r["method"] == method and r["point"] == point and r[metric] != "":
            total, n = sums.get(r["user"], (0.0, 0))
            sums[r["user"]] = (total + float(r[metric]), n + 1)
    return {u: t / n for u, (t, n) in sums.items()}


def paired_over_users(a, b, resamples=1000, flips=10000, seed=1):
    """a − b over the users both have: mean, percentile bootstrap 95 % interval over users, and a
    two-sided Monte Carlo sign-flip p (the tests rec-train compare uses, rerun here because the
    two sides come from different compare folders)."""
    users = sorted(set(a) & set(b))
    d = [a[u] - b[u] for u in users]
    n = len(d)
    mean = sum(d) / n
    g = random.Random(seed)
    boots = sorted(sum(d[g.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    lo, hi = boots[int(0.025 * resamples)], boots[int(0.975 * resamples) - 1]
    extreme = sum(1 for _ in range(flips) if abs(sum(x if g.random() < 0.5 else -x for x in d)) >= abs(sum(d)) - 1e-12)
    return n, mean, lo, hi, (extreme + 1) / (flips + 1)


def control_rows(out, dataset, compare, control):
    """Each pretrained method (and the 5k from-scratch agent), fine-tuned, against the 10k control."""
    users_a, users_b = os.path.join(out, compare, "users.csv"), os.path.join(out, control, "users.csv")
    if not (os.path.isfile(users_a) and os.path.isfile(users_b)):
        return []
    methods = [m for m in dict.fromkeys(r["method"] for r in read_csv(os.path.join(out, compare, "comparison.csv"))) if m.startswith("dqn-")]
    rows = []
    for metric in ("hr@10", "ndcg@10"):
        reference = user_means(users_b, "dqn-extrinsic", "fine-tuned", metric)
        for m in methods:
            n, mean, lo, hi, p = paired_over_users(user_means(users_a, m, "fine-tuned", metric), reference)
            rows.append({"dataset": dataset, "method": m, "reference": "dqn-extrinsic-10k", "metric": metric, "point": "fine-tuned",
                         "users": n, "seeds": None, "difference": mean, "ci_lower": lo, "ci_upper": hi, "p_sign_flip": p, "p_holm": None})
    # Holm over this table.
    order = sorted(range(len(rows)), key=lambda i: rows[i]["p_sign_flip"])
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(rows) - rank) * rows[i]["p_sign_flip"]))
        rows[i]["p_holm"] = running
    return rows


def p_text(p):
    return "" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def paired_markdown(rows, title):
    lines = [f"**{title}** (paired over users, each user's value averaged over the seeds; bootstrap 95 % interval over users, "
             "sign-flip p; Holm within each source table: rec-train's, or, against `dqn-extrinsic-10k`, this script's)", "",
             "| method − reference | metric | point | users | seeds | difference [95 %] | sign-flip p | Holm p |",
             "|:---|:---|:---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f'| {r["method"]} − {r["reference"]} | {r["metric"]} | {r["point"]} | {r["users"]} | {r["seeds"] or ""} | '
                     f'{fmt(r["difference"], 4, True)} [{fmt(r["ci_lower"], 4, True)}, {fmt(r["ci_upper"], 4, True)}] | '
                     f'{p_text(r["p_sign_flip"])} | {p_text(r["p_holm"])} |')
    return "\n".join(lines) + "\n"


def summary(out, figures):
    sweep = sweep_rows(out)
    if sweep:
        cols = ["configuration", "flags", "part", "hr@10", "ndcg@10", "popularity_hr@10", "popularity_ndcg@10", "seconds"]
        picked = pick(out).split("|")[0]
        md = ["| configuration (validation part, all users, seed 1, 10k steps) | flags | HR@10 | NDCG@10 | popularity HR@10 / NDCG@10 | seconds |",
              "|:---|:---|---:|---:|---:|---:|"]
        for r in sweep:
            mark = " **(picked)**" if r["configuration"] == picked else ""
            md.append(f'| {r["configuration"]}{mark} | `{r["flags"] or "(none)"}` | {fmt(r["hr@10"])} | {fmt(r["ndcg@10"])} | '
                      f'{fmt(r["popularity_hr@10"])} / {fmt(r["popularity_ndcg@10"])} | {fmt(r["seconds"], 0)} |')
        write_outputs(figures, "dqn-sweep", sweep, cols, "\n".join(md) + "\n", None)

    final = os.path.join(out, "final")
    if os.path.isfile(os.path.join(final, "comparison.csv")):
        rows = [r for r in seed_summary(os.path.join(final, "comparison.csv"), "ml-100k") if r["point"] == "fine-tuned"]
        paired = paired_rows(os.path.join(final, "paired-users.csv"), "ml-100k")
        cols = ["dataset", "method", "point", "metric", "seeds", "value", "ci_lower", "ci_upper"]
        md = ["| method (test part, all users, seed 1) | HR@10 | NDCG@10 | mean rating |", "|:---|---:|---:|---:|"]
        for method in dict.fromkeys(r["method"] for r in rows):
            v = {r["metric"]: r["value"] for r in rows if r["method"] == method}
            md.append(f'| {method} | {fmt(v["hr@10"])} | {fmt(v["ndcg@10"])} | {fmt(v["mean_rating"])} |')
        fine = [r for r in paired if r["point"] == "fine-tuned"]
        write_outputs(figures, "dqn-final", rows, cols, "\n".join(md) + "\n\n" + paired_markdown(fine, "Paired tests"), None)

    all_rows, all_paired, plots = [], [], []
    for dataset, folder, control in (("ml-100k", "compare-ml100k", "control-ml100k"), ("synth-1", "compare-synth", "control-synth")):
        path = os.path.join(out, folder, "comparison.csv")
        if not os.path.isfile(path):
            continue
        rows = seed_summary(path, dataset)
        all_paired += control_rows(out, dataset, folder, control)
        # The control: the from-scratch agent with the pretrained agents' total budget.
        control_path = os.path.join(out, control, "comparison.csv")
        if os.path.isfile(control_path):
            rows += [dict(r, method="dqn-extrinsic-10k") for r in seed_summary(control_path, dataset)
                     if r["method"] == "dqn-extrinsic"]
        all_rows += rows
        all_paired += paired_rows(os.path.join(out, folder, "paired-users.csv"), dataset)
        plots.append((dataset, [r for r in rows if r["metric"] == "ndcg@10"]))
    if all_rows:
        cols = ["dataset", "method", "point", "metric", "seeds", "value", "ci_lower", "ci_upper"]
        md = []
        for dataset in dict.fromkeys(r["dataset"] for r in all_rows):
            rows = [r for r in all_rows if r["dataset"] == dataset]
            seeds = max(r["seeds"] for r in rows)
            md += [f"### {dataset} (mean [95 % t-interval] over {seeds} seeds)", "",
                   "| method | HR@10 zero-shot | HR@10 fine-tuned | NDCG@10 zero-shot | NDCG@10 fine-tuned | mean rating zero-shot | mean rating fine-tuned |",
                   "|:---|---:|---:|---:|---:|---:|---:|"]
            for method in dict.fromkeys(r["method"] for r in rows):
                cells = []
                for metric in METRICS:
                    for point in POINTS:
                        r = next(x for x in rows if x["method"] == method and x["metric"] == metric and x["point"] == point)
                        ci = f' [{fmt(r["ci_lower"])}, {fmt(r["ci_upper"])}]' if r["ci_lower"] is not None else ""
                        cells.append(f'{fmt(r["value"])}{ci}')
                md.append(f"| {method} | " + " | ".join(cells) + " |")
            paired = [r for r in all_paired if r["dataset"] == dataset and r["metric"] in ("hr@10", "ndcg@10")]
            md += ["", paired_markdown(paired, f"{dataset}: paired tests")]
        items = []
        for dataset, rows in plots:
            for r in rows:
                if r["value"] is not None:
                    items.append(dict(r, label=f'{dataset} · {r["method"]} · {r["point"]}'))
        svg = forest_plot(items, "NDCG@10 by method and protocol point (mean, 95 % t-interval over seeds)", 0, 0.35, 0,
                          lambda r: r["label"], lambda r: "#1f77b4" if r["point"] == "fine-tuned" else "#ff7f0e",
                          [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35], "{:.2f}")
        write_outputs(figures, "dqn-compare", all_rows, cols, "\n".join(md) + "\n", svg)
        write_outputs(figures, "dqn-compare-paired", all_paired,
                      ["dataset", "method", "reference", "metric", "point", "users", "seeds", "difference", "ci_lower", "ci_upper",
                       "p_sign_flip", "p_holm"], paired_markdown(all_paired, "All paired tests"), None)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "pick":
        print(pick(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "summary":
        summary(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
