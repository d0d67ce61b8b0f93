"""The peer of `bench-import`: a straightforward Python importer of a ratings CSV into SQLite.

csv.reader + dicts for user/item ids + sqlite3.executemany in batches, one transaction, WAL, into
the same schema shape the Swift store uses (users, items, ratings keyed by (dataset, user, item)
in a WITHOUT ROWID table, duplicate policy "last"). Prints key=value lines for the benchmark to read.

Usage: python3 bench_import_peer.py ratings.csv out.sqlite
"""
import csv
import sqlite3
import sys
import time


def main(path: str, db_path: str) -> None:
    start = time.perf_counter()
    con = sqlite3.connect(db_path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA cache_size=-262144")
    con.executescript(
        """
        CREATE TABLE user (id INTEGER PRIMARY KEY, dataset_id INTEGER NOT NULL, external_id TEXT NOT NULL,
                           UNIQUE (dataset_id, external_id));
        CREATE TABLE item (id INTEGER PRIMARY KEY, dataset_id INTEGER NOT NULL, external_id TEXT NOT NULL,
                           UNIQUE (dataset_id, external_id));
        CREATE TABLE rating (dataset_id INTEGER NOT NULL, user_id INTEGER NOT NULL, item_id INTEGER NOT NULL,
                             value REAL NOT NULL, timestamp INTEGER NOT NULL,
                             PRIMARY KEY (dataset_id, user_id, item_id)) WITHOUT ROWID;
        """
    )
    con.execute("BEGIN")
    users: dict[str, int] = {}
    items: dict[str, int] = {}
    batch = []
    sql = (
        "INSERT INTO rating(dataset_id, user_id, item_id, value, timestamp) VALUES (1, ?, ?, ?, ?) "
        "ON CONFLICT(dataset_id, user_id, item_id) DO UPDATE SET value = excluded.value, "
        "timestamp = excluded.timestamp WHERE excluded.timestamp >= rating.timestamp"
    )
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for user, item, rating, ts in reader:
            u = users.get(user)
            if u is None:
                u = con.execute("INSERT INTO user(dataset_id, external_id) VALUES (1, ?)", (user,)).lastrowid
                users[user] = u
            i = items.get(item)
            if i is None:
                i = con.execute("INSERT INTO item(dataset_id, external_id) VALUES (1, ?)", (item,)).lastrowid
                items[item] = i
            batch.append((u, i, float(rating), int(ts)))
            if len(batch) >= 100_000:
                con.executemany(sql, batch)
                batch.clear()
    if batch:
        con.executemany(sql, batch)
    con.execute("COMMIT")
    n = con.execute("SELECT count(*) FROM rating").fetchone()[0]
    con.close()
    seconds = time.perf_counter() - start
    print(f"seconds={seconds:.3f}")
    print(f"ratings={n}")
    # VmHWM, not ru_maxrss: the latter keeps the parent's high-water mark across fork and exec.
    with open("/proc/self/status") as status:
        hwm = next((int(l.split()[1]) for l in status if l.startswith("VmHWM:")), 0)
    print(f"peak_rss_mib={hwm / 1024:.0f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
