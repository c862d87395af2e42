"""Run logs a person can read and a program can parse: ``metrics.csv``, ``metrics.jsonl``, plots.

``metrics.csv`` has one row per logged step; a column that appears later (an eval metric,
say) is added by rewriting the file atomically, so the CSV always has one header.
``metrics.jsonl`` keeps the same rows (and richer records such as eval results) one JSON
object per line, appended.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any, Iterable

from ganstyle.io.images import atomic_path, atomic_write_text


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return f"{v:.6g}"
    return v


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def append_csv(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> None:
    """Append rows; if they bring new columns, rewrite the file with the wider header."""
    rows = [dict(r) for r in rows]
    if not rows:
        return
    path = Path(path)
    old = read_csv(path)
    header = list(old[0].keys()) if old else []
    if not old and path.exists():
        with open(path, newline="") as f:
            first = f.readline().strip()
            header = first.split(",") if first else []
    new_cols = [k for r in rows for k in r if k not in header]
    new_cols = list(dict.fromkeys(new_cols))
    if new_cols or not path.exists():
        header = header + new_cols
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore")
        w.writeheader()
        for r in old + rows:
            w.writerow({k: _fmt(r.get(k, "")) for k in header})
        atomic_write_text(path, buf.getvalue())
    else:
        with open(path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
            for r in rows:
                w.writerow({k: _fmt(r.get(k, "")) for k in header})


def truncate_csv(path: str | os.PathLike, max_step: int, step_key: str = "step") -> None:
    """Drop rows logged after ``max_step`` (used on resume, so history matches the checkpoint)."""
    path = Path(path)
    rows = read_csv(path)
    if not rows:
        return
    keep = [r for r in rows if not r.get(step_key) or int(float(r[step_key])) <= max_step]
    if len(keep) == len(rows):
        return
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0].keys()))
    w.writeheader()
    w.writerows(keep)
    atomic_write_text(path, buf.getvalue())


def append_jsonl(path: str | os.PathLike, record: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(record, default=float) + "\n")


def plot_columns(csv_path: str | os.PathLike, png_path: str | os.PathLike, columns: list[str] | None = None,
                 *, x: str = "step", title: str = "", logy: bool = False) -> Path | None:
    """Plot numeric columns of a metrics CSV against ``x`` into a PNG (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_csv(csv_path)
    if not rows:
        return None
    cols = columns or [c for c in rows[0] if c != x]

    def num(v: str) -> float:
        try:
            return float(v)
        except (TypeError, ValueError):
            return math.nan

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    plotted = False
    for c in cols:
        pts = [(num(r.get(x)), num(r.get(c))) for r in rows]
        pts = [(a, b) for a, b in pts if not (math.isnan(a) or math.isnan(b))]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=c, lw=1.2, marker="o" if len(pts) < 30 else None, ms=3)
            plotted = True
    if not plotted:
        plt.close(fig)
        return None
    ax.set_xlabel(x)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    png_path = Path(png_path)
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return png_path
