"""Results out of the store: CSV with the headline columns and the main statistics flattened."""

from __future__ import annotations

import csv
import io

from edgekit.record.store import COLUMNS

# Fields of the stored result worth a column of their own.
RESULT_FIELDS = ("count", "top1", "top5", "median_ms", "mean_ms", "std_ms", "p90_ms", "p99_ms", "min_ms",
                 "runs", "warmup", "rounds", "spread_pct", "throughput_ips", "init_ms", "first_ms",
                 "peak_rss_mb", "size_bytes")
ENV_FIELDS = ("cpu", "usable_cores", "os", "python", "git")


def to_csv(rows: list[dict]) -> str:
    """Store rows as CSV: headline columns, the main statistics, the machine."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*COLUMNS, *RESULT_FIELDS, *(f"env_{k}" for k in ENV_FIELDS)])
    for row in rows:
        result, env = row["result"], row["environment"]
        writer.writerow([*(row[c] for c in COLUMNS), *(result.get(k, "") for k in RESULT_FIELDS),
                         *(env.get(k, "") for k in ENV_FIELDS)])
    return out.getvalue()


def rows_to_csv(rows, default_fields: list[str]) -> str:
    """Any list of flat dicts as CSV, the first row's keys as the header (``default_fields`` when empty)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else default_fields)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
