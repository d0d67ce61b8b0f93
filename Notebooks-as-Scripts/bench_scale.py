#!/usr/bin/env python3
"""Scale benchmark of the whole pipeline (issue 15), driven by bench-scale.sh.

For every size (users) it builds a synthetic world in a fresh database and runs every stage with
the release binaries: import (synth), split, rationales (aspect and oracle), item embedding,
first-time rationale embedding, validate-rewards with every metric on cached embeddings, and a
fixed-step rec-train. Each stage runs under /usr/bin/time (wall seconds, peak RSS). Then, per
stage, it fits the growth exponent: the slope of log(time) against log(the stage's input size)
by least squares, so a stage whose cost grows faster than its input stands out (slope > 1).

Outputs: a table on stdout, DIR/scale.csv (one row per stage and size), DIR/scale.svg (log-log
plot of time against users, one line per stage), and each command's log in DIR/logs/.
Only the standard library and numpy; the SVG is written by hand.
"""
import argparse
import csv
import math
import os
import sqlite3
import subprocess
import sys
import time

import numpy as np


def log(msg):
    print(f"[bench-scale {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def read_time_file(tfile):
    """(peak RSS MiB, CPU seconds = user + system) from a /usr/bin/time -v report."""
    rss_kib, cpu = 0, 0.0
    with open(tfile) as f:
        for line in f:
            if "Maximum resident set size" in line:
                rss_kib = int(line.rsplit(":", 1)[1])
            elif "User time (seconds)" in line or "System time (seconds)" in line:
                cpu += float(line.rsplit(":", 1)[1])
    return rss_kib / 1024, cpu


def timed(cmd, log_path, env):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS MiB, CPU seconds)."""
    tfile = log_path + ".time"
    with open(log_path, "w") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        t0 = time.monotonic()
        rc = subprocess.call(["/usr/bin/time", "-v", "-o", tfile] + cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        wall = time.monotonic() - t0
    if rc != 0:
        tail = open(log_path).read()[-3000:]
        raise SystemExit(f"command failed ({rc}): {' '.join(cmd)}\n--- {log_path} (tail) ---\n{tail}")
    rss, cpu = read_time_file(tfile)
    return wall, rss, cpu


def counts(db, dataset, split):
    """Input sizes read from the store: ratings, test pairs, users, items, rationales."""
    c = sqlite3.connect(db)
    q = lambda sql, *a: c.execute(sql, a).fetchone()[0]
    did = q("SELECT id FROM dataset WHERE name = ?", dataset)
    out = {
        "ratings": q("SELECT count(*) FROM rating WHERE dataset_id = ?", did),
        "users": q("SELECT count(*) FROM user WHERE dataset_id = ?", did),
        "items": q("SELECT count(*) FROM item WHERE dataset_id = ?", did),
    }
    sid = c.execute("SELECT id FROM split WHERE dataset_id = ? AND name = ?", (did, split)).fetchone()
    if sid:
        out["test_pairs"] = q("SELECT count(*) FROM split_assignment WHERE split_id = ? AND part = 2", sid[0])
    for reasoner in ("aspect", "oracle"):
        run = c.execute("SELECT max(id) FROM rationale_run WHERE dataset_id = ? AND reasoner = ?", (did, reasoner)).fetchone()[0]
        if run is not None:
            out[f"{reasoner}_rationales"] = q("SELECT count(*) FROM rationale WHERE run_id = ?", run)
            out[f"{reasoner}_distinct"] = q("SELECT count(DISTINCT text) FROM rationale WHERE run_id = ?", run)
    c.close()
    return out


def items_for(users, lo, hi):
    """Catalog size for a world of `users`: users / 5, within [lo, hi] (2k–20k by default)."""
    return int(min(hi, max(lo, users // 5)))


# (stage, what its cost should follow) — the exponent is fitted against that input.
STAGES = [
    ("import (synth)", "ratings"),
    ("split", "ratings"),
    ("rationales aspect", "users"),
    ("rationales oracle", "users"),
    ("embed items", "items"),
    # The aspect reasoner's few hundred distinct phrases encode in seconds; this stage's cost is
    # looking up every rationale and scoring the held-out pairs with the two embedding metrics.
    ("embed rationales (aspect)", "aspect_rationales"),
    ("validate-rewards aspect, all metrics", "test_pairs"),
    ("embed rationales (oracle)", "oracle_distinct"),
    ("validate-rewards oracle, 7 metrics", "test_pairs"),
    ("rec-train (fixed steps)", "users"),
]


def run_size(users, a, env):
    items = items_for(users, a.min_items, a.max_items)
    name = f"scale-{users}"
    db = os.path.join(a.out, f"{name}.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    logs = os.path.join(a.out, "logs")
    os.makedirs(logs, exist_ok=True)
    rd, vr, rt = (os.path.join(a.bin, x) for x in ("rec-data", "validate-rewards", "rec-train"))
    common = ["--db", db]
    base = ["--dataset", name, "--split", "random"]
    vr_common = common + base + ["--bootstrap", str(a.bootstrap), "--seed", str(a.seed)]
    cmds = {
        "import (synth)": [rd, "synth"] + common + ["--seed", str(a.seed), "--users", str(users), "--items", str(items), "--name", name],
        "split": [rd, "split"] + common + ["--dataset", name, "--name", "random", "--method", "random",
                                          "--ratios", "0.8,0.1,0.1", "--seed", str(a.seed)],
        "rationales aspect": [rd, "rationales"] + common + base + ["--reasoner", "aspect"],
        "rationales oracle": [rd, "rationales"] + common + base + ["--reasoner", "oracle"],
        "embed items": [rd, "embed"] + common + ["--dataset", name, "--tokens"],
        # First-time rationale embeddings (sentence and token level) fill the cache; the metrics
        # that need them are the only ones run, with one resample, so the encoder dominates.
        "embed rationales (aspect)": [vr] + common + base + ["--reasoner", "aspect", "--metrics", "sbert-cosine,maxsim",
                                                             "--bootstrap", "1", "--permutations", "1",
                                                             "--out", os.path.join(a.out, "runs", f"{name}-embed")],
        "validate-rewards aspect, all metrics": [vr] + vr_common + ["--reasoner", "aspect", "--metrics", "all",
                                                                    "--out", os.path.join(a.out, "runs", f"{name}-aspect")],
        "embed rationales (oracle)": [vr] + common + base + ["--reasoner", "oracle", "--metrics", "sbert-cosine",
                                                             "--bootstrap", "1", "--permutations", "1",
                                                             "--out", os.path.join(a.out, "runs", f"{name}-embed-oracle")],
        "validate-rewards oracle, 7 metrics": [vr] + vr_common + ["--reasoner", "oracle", "--metrics",
                                                                  "sbert-cosine,calibrated-cosine,tfidf-cosine,bm25,centroid-cosine,popularity,random",
                                                                  "--out", os.path.join(a.out, "runs", f"{name}-oracle")],
        "rec-train (fixed steps)": [rt] + common + base + ["--rationales", "aspect", "--reward", "ellm", "--seed", str(a.seed),
                                                           "--steps", str(a.train_steps), "--finetune-steps", str(a.train_steps),
                                                           "--eval-users", "200", "--out", os.path.join(a.out, "runs", f"{name}-train")],
    }
    rows = []
    for stage, _ in STAGES:
        if stage not in a.stage_set:
            continue
        if stage == "rec-train (fixed steps)":
            import shutil
            shutil.rmtree(os.path.join(a.out, "runs", f"{name}-train"), ignore_errors=True)
        log(f"{users} users, {items} items: {stage} …")
        slug = "".join(ch if ch.isalnum() else "-" for ch in stage)
        wall, rss, cpu = timed(cmds[stage], os.path.join(logs, f"{name}-{slug}.log"), env)
        log(f"{users} users: {stage}: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {rss:.0f} MiB")
        rows.append({"users": users, "items": items, "stage": stage, "seconds": wall, "cpu_seconds": cpu, "peak_rss_mib": rss})
        # After every stage: a run stopped in the middle of a large size keeps what it measured.
        write_csv(a.done_rows + rows, os.path.join(a.out, "scale.csv"))
    sizes = counts(db, name, "random")
    for r in rows:
        r.update(sizes)
    if users == a.largest and a.encoder_texts > 0:
        encoder_throughput(db, name, rd, a, env)
    if not a.keep_db:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
    return rows


def encoder_throughput(db, dataset, rd, a, env):
    """First-time encoding rate of long texts (the synthetic users' preference statements, as the
    oracle reasoner writes them) through `rec-data encode`, for each batch size and thread count."""
    c = sqlite3.connect(db)
    texts = [t for (t,) in c.execute(
        "SELECT DISTINCT r.text FROM rationale r JOIN rationale_run u ON u.id = r.run_id "
        "JOIN dataset d ON d.id = u.dataset_id WHERE d.name = ? AND u.reasoner = 'oracle' ORDER BY r.id LIMIT ?",
        (dataset, a.encoder_texts))]
    c.close()
    if not texts:
        log("no oracle rationales: encoder throughput skipped")
        return
    import json
    path = os.path.join(a.out, "encoder-texts.jsonl")
    with open(path, "w") as f:
        for t in texts:
            f.write(json.dumps(t) + "\n")
    chars = sum(len(t) for t in texts) / len(texts)
    print(f"\nencoder throughput, {len(texts)} distinct oracle texts (mean {chars:.0f} characters), `rec-data encode`:")
    print("| threads | batch | texts/s | peak RSS |")
    print("| ---: | ---: | ---: | ---: |")
    for threads in (1, 2):
        for batch in (8, 16, 32, 64, 128):
            cmd = ["bash", "-c", f'"$0" encode --threads {threads} --batch-size {batch} --chunk 4096 < "$1" > /dev/null', rd, path]
            wall, rss, _ = timed(cmd, os.path.join(a.out, "logs", f"encode-t{threads}-b{batch}.log"), env)
            print(f"| {threads} | {batch} | {len(texts) / wall:.1f} | {rss:.0f} MiB |", flush=True)


def fit(xs, ys):
    """Least-squares slope of log y on log x (None with fewer than two distinct sizes)."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y > 0]
    if len({p[0] for p in pts}) < 2:
        return None
    lx, ly = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    return float(np.polyfit(lx, ly, 1)[0])


def svg(rows, path):
    """Log-log plot, seconds against users, one polyline per stage (hand-written SVG)."""
    stages = [s for s, _ in STAGES if any(r["stage"] == s for r in rows)]
    W, H, L, R, T, B = 820, 480, 70, 300, 40, 50
    xs = [r["users"] for r in rows]
    cost = lambda r: max(r.get("cpu_seconds") or r["seconds"], 1e-2)
    ys = [cost(r) for r in rows]
    x0, x1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    if x1 == x0:
        x1 += 1
    if y1 == y0:
        y1 += 1
    px = lambda x: L + (math.log10(x) - x0) / (x1 - x0) * (W - L - R)
    py = lambda y: H - B - (math.log10(y) - y0) / (y1 - y0) * (H - T - B)
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{L}" y="22" font-size="14">Pipeline stages: CPU time (user + system) against users, log-log</text>']
    for e in range(x0, x1 + 1):
        x = px(10 ** e)
        out.append(f'<line x1="{x:.1f}" y1="{T}" x2="{x:.1f}" y2="{H - B}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{H - B + 16}" text-anchor="middle">{10 ** e:,}</text>')
    for e in range(y0, y1 + 1):
        y = py(10 ** e)
        out.append(f'<line x1="{L}" y1="{y:.1f}" x2="{W - R}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{L - 6}" y="{y + 4:.1f}" text-anchor="end">{10 ** e:g} s</text>')
    out.append(f'<text x="{(L + W - R) / 2}" y="{H - 12}" text-anchor="middle">users</text>')
    # Reference: slope 1 (cost proportional to users) from the lower-left corner.
    span = min(x1 - x0, y1 - y0)
    out.append(f'<line x1="{px(10 ** x0):.1f}" y1="{py(10 ** y0):.1f}" x2="{px(10 ** (x0 + span)):.1f}" '
               f'y2="{py(10 ** (y0 + span)):.1f}" stroke="#999" stroke-dasharray="5,4"/>')
    out.append(f'<text x="{px(10 ** (x0 + span)) - 4:.1f}" y="{py(10 ** (y0 + span)) + 14:.1f}" text-anchor="end" '
               f'fill="#777">slope 1</text>')
    for i, s in enumerate(stages):
        pts = sorted((r["users"], cost(r)) for r in rows if r["stage"] == s)
        c = colors[i % len(colors)]
        poly = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<polyline points="{poly}" fill="none" stroke="{c}" stroke-width="2"/>')
        for x, y in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{c}"/>')
        ly = T + 14 + i * 18
        out.append(f'<line x1="{W - R + 14}" y1="{ly - 4}" x2="{W - R + 34}" y2="{ly - 4}" stroke="{c}" stroke-width="2"/>')
        out.append(f'<text x="{W - R + 40}" y="{ly}">{s}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", required=True, help="folder with release rec-data, validate-rewards, rec-train")
    p.add_argument("--sizes", default="1000,10000,100000", help="users per world, comma-separated")
    p.add_argument("--min-items", type=int, default=2000)
    p.add_argument("--max-items", type=int, default=20000)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--bootstrap", type=int, default=1000)
    p.add_argument("--train-steps", type=int, default=2000, help="pretrain and fine-tune steps of rec-train")
    p.add_argument("--stages", default="all", help="comma-separated stage numbers (1-based, see --list) or all")
    p.add_argument("--list", action="store_true", help="list the stages and exit")
    p.add_argument("--out", default="runs/bench-scale")
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--encoder-texts", type=int, default=0,
                   help="after the largest size, time `rec-data encode` on this many distinct oracle texts per batch size and thread count")
    p.add_argument("--from-csv", help="comma-separated scale.csv files of earlier runs: print their combined table and "
                                       "write the SVG and CSV to --out, running nothing")
    a = p.parse_args()
    if a.from_csv:
        rows = []
        for path in a.from_csv.split(","):
            with open(path) as f:
                for r in csv.DictReader(f):
                    rows.append({k: (v if k == "stage" else (float(v) if "." in v else int(v))) for k, v in r.items() if v != ""})
        os.makedirs(a.out, exist_ok=True)
        write_csv(rows, os.path.join(a.out, "scale.csv"))
        report(rows, a)
        return
    if a.list:
        for i, (s, x) in enumerate(STAGES, 1):
            print(f"{i}. {s} (exponent against {x})")
        return
    a.stage_set = {s for s, _ in STAGES} if a.stages == "all" else {STAGES[int(i) - 1][0] for i in a.stages.split(",")}
    os.makedirs(a.out, exist_ok=True)
    env = dict(os.environ)
    sizes = [int(s) for s in a.sizes.split(",")]
    a.largest = max(sizes)
    rows = []
    a.done_rows = rows
    for u in sizes:
        rows += run_size(u, a, env)
        write_csv(rows, os.path.join(a.out, "scale.csv"))  # after every size: a killed run keeps what it measured
    report(rows, a)


def write_csv(rows, path):
    keys = ["users", "items", "stage", "seconds", "cpu_seconds", "peak_rss_mib", "ratings", "test_pairs", "aspect_rationales",
            "aspect_distinct", "oracle_rationales", "oracle_distinct"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)


def report(rows, a):
    sizes = sorted({r["users"] for r in rows})
    # Small sizes are dominated by fixed costs (process start, model load, catalog work), which
    # pulls a fit over all sizes below 1; one column fits only the two largest sizes. Exponents
    # are fitted on CPU time (user + system) when it was measured: on a shared machine wall time
    # follows the other jobs' load, CPU time follows the work.
    head = ("| stage | input | " + " | ".join(f"{u:,} users: wall / CPU s, peak RSS" for u in sizes)
            + " | exponent vs input, all sizes | exponent vs input, two largest | exponent vs users |")
    print(head)
    print("|" + " --- |" * 2 + " ---: |" * (len(sizes) + 3))
    for stage, basis in STAGES:
        rs = {r["users"]: r for r in rows if r["stage"] == stage}
        if not rs:
            continue
        cells = []
        for u in sizes:
            r = rs.get(u)
            if r is None:
                cells.append("—")
            else:
                cpu = f" / {r['cpu_seconds']:.1f}" if r.get("cpu_seconds") else ""
                cells.append(f"{r['seconds']:.1f}{cpu} s, {r['peak_rss_mib']:.0f} MiB")
        cost = lambda r: r.get("cpu_seconds") or r["seconds"]
        e_in = fit([rs[u].get(basis, 0) for u in rs], [cost(rs[u]) for u in rs])
        top = sorted(rs)[-2:]
        e_top = fit([rs[u].get(basis, 0) for u in top], [cost(rs[u]) for u in top])
        e_u = fit(list(rs), [cost(rs[u]) for u in rs])
        f = lambda e: "—" if e is None else f"{e:.2f}"
        print(f"| {stage} | {basis} | " + " | ".join(cells) + f" | {f(e_in)} | {f(e_top)} | {f(e_u)} |")
    print()
    print("inputs per size: " + "; ".join(
        f"{u:,} users: " + ", ".join(f"{k} {v:,}" for k, v in sorted(next(r for r in rows if r['users'] == u).items())
                                     if k in ("items", "ratings", "test_pairs", "aspect_rationales", "aspect_distinct",
                                              "oracle_rationales", "oracle_distinct"))
        for u in sizes))
    svg(rows, os.path.join(a.out, "scale.svg"))
    print(f"\nwrote {os.path.join(a.out, 'scale.csv')} and {os.path.join(a.out, 'scale.svg')}")


if __name__ == "__main__":
    main()
