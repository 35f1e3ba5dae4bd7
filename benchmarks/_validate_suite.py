"""The validation benchmark's table and suite (benchmarks/validate_vs_gx.py).

A generated ROWS x 20 parquet table with violations planted at known counts, and 18
expectations over it (10 column, 2 table, 6 statistics), written once as mlctl's suite;
every other tool's checks are translated from the same list (benchmarks/_validate_tools.py),
so all of them check one thing. The truth of every check comes from how the table was made
(the planted counts) and, for statistics, from numpy over the generated arrays.

Imports only the standard library at the top: the tools' workers import it in their venvs.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

# Violations planted at 1,000,000 rows; scaled with the rows (at least 2 each).
PLANTED = {"user_id null": 1234, "order_id duplicate pairs": 321, "price negative": 777,
           "country not listed": 555, "email malformed": 888, "sku wrong length": 999,
           "created_at before 2024": 111, "created_at in 2031": 222, "seq drops": 66,
           "discount over price": 444}
# Missing values and other shares, of the rows.
SHARES = {"price null": 0.01, "price NaN": 0.01, "amount NaN": 0.005, "comment null": 0.2}
COUNTRIES = ["DE", "FR", "IT", "ES", "NL", "PL", "SE", "AT"]
STATUSES = ["new", "paid", "shipped", "returned"]
CATEGORIES = ["books", "games", "music", "garden", "tools", "toys", "food", "sports"]
EMAIL = r"^[a-z0-9.]+@[a-z0-9]+\.[a-z]+$"
COLUMNS = ["order_id", "user_id", "seq", "price", "discount", "amount", "score", "quantity", "country",
           "status", "email", "sku", "comment", "category", "created_at", "updated_at", "is_active",
           "ratio", "rating", "day"]


def planted(rows: int) -> dict[str, int]:
    return {k: max(2, round(v * rows / 1_000_000)) for k, v in PLANTED.items()}


def suite(rows: int) -> list[dict]:
    """The 18 expectations, each as mlctl's suite writes it, with its name."""
    checks = [
        {"expect": "not_null", "column": "user_id"},
        {"expect": "unique", "column": "order_id"},
        {"expect": "between", "column": "price", "min": 0, "max": 1000},
        {"expect": "in_set", "column": "country", "values": COUNTRIES},
        {"expect": "regex", "column": "email", "pattern": EMAIL},
        {"expect": "length_between", "column": "sku", "min": 8, "max": 8},
        {"expect": "timestamp_between", "column": "created_at", "min": "2024-01-01", "max": "2025-01-01"},
        {"expect": "not_in_future", "column": "created_at"},
        {"expect": "increasing", "column": "seq"},
        {"expect": "condition", "condition": "price >= discount"},
        {"expect": "row_count", "min": int(rows * 0.9), "max": int(rows * 1.1) + 1},
        {"expect": "column_set", "columns": COLUMNS, "exact": True},
        {"expect": "mean", "column": "amount", "min": 50, "max": 70},
        {"expect": "median", "column": "amount", "min": 50, "max": 70},
        {"expect": "stdev", "column": "score", "max": 0.5},
        {"expect": "null_share", "column": "price", "max": 0.01},
        {"expect": "distinct_count", "column": "category", "min": 5, "max": 10},
        {"expect": "freshness", "column": "updated_at", "max_age": "30d"},
    ]
    for c in checks:
        c["name"] = f"{c['expect']}({c['column']})" if "column" in c else c["expect"]
    return checks


def max_age_seconds(text: str) -> int:
    return int(text[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[text[-1]]


def utc(text: str) -> dt.datetime:
    """A suite's time bound as a naive UTC datetime (the column is naive UTC)."""
    return dt.datetime.fromisoformat(text)


def generate(rows: int, path: Path, seed: int = 25) -> dict:
    """Write the table to ``path``; return the truth of every check (by name)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    counts, shares = planted(rows), {k: max(2, round(v * rows)) for k, v in SHARES.items()}
    picks = _disjoint(rng, rows, {**counts, "order_id copies": counts["order_id duplicate pairs"],
                                  **{k: v for k, v in shares.items() if k.startswith("price")}})
    now_us = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1_000_000)
    cols, arrays = _columns(rng, rows, picks, counts, shares, now_us)
    table = pa.table(cols)
    assert table.column_names == COLUMNS
    pq.write_table(table, path)
    return truth(rows, counts, arrays, now_us)


def _disjoint(rng, rows: int, sizes: dict[str, int]) -> dict:
    """Row numbers for each planted violation, no row picked twice."""
    import numpy as np

    order, picks, at = rng.permutation(rows), {}, 0
    for name, size in sizes.items():
        picks[name] = np.sort(order[at:at + size])
        at += size
    return picks


def _columns(rng, rows, picks, counts, shares, now_us):
    import numpy as np
    import pyarrow as pa

    order_id = 10**9 + rng.permutation(rows).astype("int64")
    order_id[picks["order_id copies"]] = order_id[picks["order_id duplicate pairs"]]
    user_id = rng.integers(1, 50_000, rows)
    user_mask = np.zeros(rows, bool)
    user_mask[picks["user_id null"]] = True
    seq = np.arange(rows, dtype="int64") * 10
    drops = rng.choice(np.arange(1, rows // 4), counts["seq drops"], replace=False) * 4
    seq[drops] -= 25  # below the previous value, and the next one is above it again
    price = rng.uniform(1, 999, rows)
    discount = price * rng.uniform(0, 0.5, rows)
    price[picks["price negative"]] = -rng.uniform(1, 100, len(picks["price negative"]))
    discount[picks["price negative"]] = price[picks["price negative"]] - 1  # the condition still holds
    discount[picks["discount over price"]] = price[picks["discount over price"]] + 1
    price[picks["price NaN"]] = np.nan
    price_mask = np.zeros(rows, bool)
    price_mask[picks["price null"]] = True
    amount = rng.uniform(10, 110, rows)
    amount[rng.choice(rows, shares["amount NaN"], replace=False)] = np.nan
    score = rng.normal(0, 1, rows)
    country = rng.integers(0, len(COUNTRIES), rows).astype("int32")
    country[picks["country not listed"]] = len(COUNTRIES)  # "XX"
    email = [f"user{i}@example.com" for i in range(rows)]
    for i in picks["email malformed"]:
        email[i] = f"user{i}_at_example.com"
    sku = [f"SKU{i % 100_000:05d}" for i in range(rows)]
    for i in picks["sku wrong length"]:
        sku[i] = "SKU-BAD"
    comment = np.array(["fine", "late", "gift", "ünïcødé ✓", None], dtype=object)[rng.integers(0, 4, rows)]
    comment[rng.choice(rows, shares["comment null"], replace=False)] = None
    start, year = _us(dt.datetime(2024, 1, 1)), 365 * 86400 * 1_000_000
    created = start + rng.integers(0, year, rows)
    created[picks["created_at before 2024"]] = _us(dt.datetime(2023, 6, 1)) + rng.integers(
        0, 86400 * 1_000_000, counts["created_at before 2024"])
    created[picks["created_at in 2031"]] = _us(dt.datetime(2031, 1, 1)) + rng.integers(
        0, 86400 * 1_000_000, counts["created_at in 2031"])
    updated = now_us - rng.integers(3600 * 1_000_000, 20 * 86400 * 1_000_000, rows)
    cols = {
        "order_id": order_id, "user_id": pa.array(user_id, mask=user_mask), "seq": seq,
        "price": pa.array(price, mask=price_mask), "discount": discount, "amount": amount, "score": score,
        "quantity": rng.integers(1, 20, rows).astype("int32"),
        "country": pa.DictionaryArray.from_arrays(pa.array(country), pa.array(COUNTRIES + ["XX"])),
        "status": pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, 4, rows).astype("int32")),
                                                 pa.array(STATUSES)),
        "email": pa.array(email), "sku": pa.array(sku), "comment": pa.array(comment, type=pa.string()),
        "category": pa.array(np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), rows)]),
        "created_at": pa.array(created, type=pa.timestamp("us")),
        "updated_at": pa.array(updated, type=pa.timestamp("us", tz="UTC")),
        "is_active": rng.random(rows) < 0.7, "ratio": rng.random(rows).astype("float32"),
        "rating": rng.integers(1, 6, rows).astype("int16"),
        "day": pa.array((created // (86400 * 1_000_000)).astype("int32"), type=pa.date32()),
    }
    price_present = ~price_mask & ~np.isnan(price)
    return cols, {"price_present": price_present, "price": price, "amount": amount, "score": score}


def _us(when: dt.datetime) -> int:
    return int(when.replace(tzinfo=dt.timezone.utc).timestamp() * 1_000_000)


def truth(rows: int, counts: dict, a: dict, now_us: int) -> dict:
    """What every check must find: row-level ones a failing count, statistics a value."""
    import numpy as np

    amount = a["amount"][~np.isnan(a["amount"])]
    fails = {
        "not_null(user_id)": counts["user_id null"],
        "unique(order_id)": 2 * counts["order_id duplicate pairs"],
        "between(price)": counts["price negative"],
        "in_set(country)": counts["country not listed"],
        "regex(email)": counts["email malformed"],
        "length_between(sku)": counts["sku wrong length"],
        "timestamp_between(created_at)": counts["created_at before 2024"] + counts["created_at in 2031"],
        "not_in_future(created_at)": counts["created_at in 2031"],
        "increasing(seq)": counts["seq drops"],
        "condition": counts["discount over price"],
    }
    result = {name: {"success": n == 0, "unexpected": n, "observed": None} for name, n in fails.items()}
    observed = {"mean(amount)": float(amount.mean()), "median(amount)": float(np.median(amount)),
                "stdev(score)": float(a["score"].std(ddof=1)),
                "null_share(price)": float((~a["price_present"]).sum() / rows),
                "distinct_count(category)": float(len(CATEGORIES))}
    checks = {c["name"]: c for c in suite(rows)}
    for name, value in observed.items():
        c = checks[name]
        result[name] = {"success": c.get("min", -np.inf) <= value <= c.get("max", np.inf), "unexpected": None,
                        "observed": value}
    for name in ("row_count", "column_set", "freshness(updated_at)"):
        result[name] = {"success": True, "unexpected": None, "observed": rows if name == "row_count" else None}
    return result


def save(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=1, default=str))
