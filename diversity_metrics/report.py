"""``diversity-metrics report``: a static HTML page with PNG plots comparing scored runs side by side.

Inputs (one system per file; the label is the file name without ``.scores.jsonl`` / ``.jsonl`` / ``.json``
unless ``labels`` are given):

* ``diversity-metrics score`` output (``*.scores.jsonl``): one record a prompt with ``partition``,
  ``distinct_k``, ``utility_k``, ... and ``settings`` (incl. ``metric_version``). Optional per-record
  ``qualities`` (one score per generation) enable the utility-against-patience plot, recomputed from the
  stored partition and qualities (NoveltyBench's utility_k at patience p in :data:`PATIENCES`).
* math outputs: any JSONL whose records carry numeric ``pass@K`` / ``maj@K`` fields (this package's
  lm-eval math tasks write them per document in lm-eval's ``samples_*.jsonl``; ``,none``-style filter
  suffixes are accepted), or an lm-eval ``results_*.json`` (``{"results": {task: {"pass@K,none": ...}}}``,
  one system per task). They give the pass@k and maj@k curves against k.

The page (``index.html``) works offline: no scripts, no external assets, images next to it
(``report_means.png``, ``report_class_counts.png``, ``report_class_sizes.png``, ``report_patience.png``,
``report_passk.png``; a plot without data is left out and the page says why). Intervals are 95%
percentile bootstrap intervals over prompts (:func:`diversity_metrics.bootstrap_ci`, seed 0). A
``summary.json`` holds the table.

Metric versions: every run must hold records of ONE metric version (else ``ValueError``); runs of
different versions are shown with their version in the table and a warning that their numbers are not
comparable (``strict=True`` refuses them instead).

Needs the ``report`` extra (matplotlib); the plots use matplotlib's Agg canvas (no display, no pyplot state).

Example:
    >>> from diversity_metrics.report import write_report
    >>> write_report(["runs/a.scores.jsonl", "runs/b.scores.jsonl"], "report/")  # doctest: +SKIP
    PosixPath('report/index.html')
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from diversity_metrics._extras import require
from diversity_metrics.io import read_jsonl

require("matplotlib", extra="report", feature="diversity-metrics report")

from matplotlib.figure import Figure  # noqa: E402 - after the extra check

__all__ = ["Run", "load_runs", "write_report", "PATIENCES", "PLOTS"]

PATIENCES = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
PLOTS = ("means", "class_counts", "class_sizes", "patience", "passk")
_AT_K = re.compile(r"^(pass|maj)@(\d+)(?:,.*)?$")
_DPI = 110


@dataclass
class Run:
    """One system: its records, metric version and (for math outputs) pass@k / maj@k points."""

    label: str
    path: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    metric_version: str | None = None
    # {"pass": {k: [per-record values]}, "maj": {...}}; lm-eval results give one value per k
    at_k: dict[str, dict[int, list[float]]] = field(default_factory=dict)

    @property
    def has_partitions(self) -> bool:
        return any("partition" in r for r in self.records)

    def values(self, metric: str) -> np.ndarray:
        return np.asarray([r[metric] for r in self.records if isinstance(r.get(metric), (int, float))],
                          dtype=np.float64)

    def heads(self) -> list[list[int]]:
        """The partitions over the first k responses (k from the run's settings; all when unset)."""
        out = []
        for r in self.records:
            if "partition" not in r:
                continue
            k = (r.get("settings") or {}).get("k")
            out.append(list(r["partition"])[: k or None])
        return out

    def qualities(self) -> list[tuple[list[int], list[float]]]:
        """(partition head, qualities head) of every record that stores qualities."""
        out = []
        for r in self.records:
            q = r.get("qualities")
            if q is None or "partition" not in r:
                continue
            k = (r.get("settings") or {}).get("k")
            out.append((list(r["partition"])[: k or None], [float(x) for x in q][: k or None]))
        return out


def _version_of(record: dict[str, Any]) -> str | None:
    settings = record.get("settings")
    if not isinstance(settings, dict):
        return None
    if settings.get("metric_version"):
        return str(settings["metric_version"])
    if settings.get("judge") == "file":
        return "file partitions"
    return None


def _add_at_k(run: Run, key: str, value: Any) -> None:
    m = _AT_K.match(key)
    if m is None or isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return
    run.at_k.setdefault(m.group(1), {}).setdefault(int(m.group(2)), []).append(float(value))


def _label(path: Path) -> str:
    name = path.name
    for suffix in (".scores.jsonl", ".jsonl", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def load_runs(paths: Sequence[str | os.PathLike[str]], labels: Sequence[str] | None = None) -> list[Run]:
    """Read each file into one :class:`Run` (an lm-eval ``results_*.json`` gives one run per task)."""
    if not paths:
        raise ValueError("report needs at least one run file")
    if labels is not None and len(labels) != len(paths):
        raise ValueError(f"got {len(labels)} labels for {len(paths)} run files")
    runs: list[Run] = []
    for i, p in enumerate(paths):
        path = Path(p)
        if not path.is_file():
            raise FileNotFoundError(f"run file not found: {path}")
        label = labels[i] if labels is not None else _label(path)
        if path.suffix == ".json":
            runs.extend(_load_results_json(path, label))
            continue
        run = Run(label, path)
        for _, rec in read_jsonl(path):
            run.records.append(rec)
            for key, value in rec.items():
                _add_at_k(run, key, value)
        if not run.records:
            raise ValueError(f"{path}: no records")
        versions = Counter(_version_of(r) for r in run.records)
        if len(versions) > 1:
            raise ValueError(
                f"{path} mixes records of {len(versions)} metric versions ({dict(versions)}); "
                "score each version into its own file"
            )
        run.metric_version = next(iter(versions))
        if not run.has_partitions and not run.at_k:
            raise ValueError(f"{path}: records have neither 'partition' (a score run) nor pass@k/maj@k fields")
        runs.append(run)
    seen: Counter[str] = Counter()
    for run in runs:
        seen[run.label] += 1
        if seen[run.label] > 1:
            run.label = f"{run.label} ({seen[run.label]})"
    return runs


def _load_results_json(path: Path, label: str) -> list[Run]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg})") from None
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, dict) or not results:
        raise ValueError(f"{path}: expected an lm-eval results file with a 'results' object")
    out = []
    for task, metrics in sorted(results.items()):
        run = Run(f"{label}/{task}" if len(results) > 1 else label, path)
        for key, value in (metrics or {}).items():
            if "_stderr" not in key:
                _add_at_k(run, key, value)
        if run.at_k:
            out.append(run)
    if not out:
        raise ValueError(f"{path}: no pass@k / maj@k metrics in its results")
    return out


# ------------------------------------------------------------------------------------------ statistics
def _ci(values: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    from diversity_metrics.metrics.estimators import bootstrap_ci

    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return math.nan, math.nan, math.nan
    if arr.size == 1:
        return float(arr[0]), math.nan, math.nan
    return bootstrap_ci(arr, seed=0)  # the same interval `score` prints


def _err(points: list[tuple[float, float, float]]) -> np.ndarray:
    lo = [0.0 if math.isnan(low) else m - low for m, low, _ in points]
    hi = [0.0 if math.isnan(high) else high - m for m, _, high in points]
    return np.asarray([lo, hi])


# ------------------------------------------------------------------------------------------ plots
def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def _plot_means(runs: list[Run], path: Path) -> str | None:
    runs = [r for r in runs if r.has_partitions]
    if not runs:
        return "no run holds partitions"
    fig = Figure(figsize=(9, 4), dpi=_DPI)
    colors = _colors(len(runs))
    for ax_i, metric in enumerate(("distinct_k", "utility_k")):
        ax = fig.add_subplot(1, 2, ax_i + 1)
        points = [_ci(r.values(metric)) for r in runs]
        x = np.arange(len(runs))
        means = [0.0 if math.isnan(m) else m for m, _, _ in points]
        ax.bar(x, means, color=colors, yerr=_err(points), capsize=5)
        for xi, (m, _, hi) in zip(x, points):
            top = 0.0 if math.isnan(m) else (m if math.isnan(hi) else hi)
            ax.annotate("n/a" if math.isnan(m) else f"{m:.2f}", (xi, top), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom")
        ax.margins(y=0.12)
        ax.set_xticks(x, [r.label for r in runs], rotation=15 if len(runs) > 3 else 0)
        ax.set_title(f"{metric} (mean, 95% bootstrap CI)")
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    return None


def _share_bars(runs: list[Run], values: list[list[int]], legend: list[str], path: Path, *, xlabel: str,
                ylabel: str, title: str) -> None:
    """Grouped bars: for each run, the share of its ``values`` equal to 1, 2, ..., max."""
    xs = np.arange(1, max(max(v) for v in values) + 1)
    width = 0.8 / len(runs)
    fig = Figure(figsize=(9, 4), dpi=_DPI)
    ax = fig.add_subplot(1, 1, 1)
    for i, (v, label, color) in enumerate(zip(values, legend, _colors(len(runs)))):
        share = np.asarray([np.mean(np.asarray(v) == x) for x in xs])
        ax.bar(xs + (i - (len(runs) - 1) / 2) * width, share, width=width, color=color, label=label)
    ax.set_xticks(xs)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)


def _plot_class_counts(runs: list[Run], path: Path) -> str | None:
    runs = [r for r in runs if r.has_partitions]
    if not runs:
        return "no run holds partitions"
    counts = [[len(set(h)) for h in r.heads()] for r in runs]
    _share_bars(runs, counts, [f"{r.label} (mean {np.mean(c):.2f})" for r, c in zip(runs, counts)], path,
                xlabel="classes per prompt (distinct_k)", ylabel="share of prompts",
                title="distribution of class counts per prompt")
    return None


def _plot_class_sizes(runs: list[Run], path: Path) -> str | None:
    runs = [r for r in runs if r.has_partitions]
    if not runs:
        return "no run holds partitions"
    sizes = [[s for h in r.heads() for s in Counter(h).values()] for r in runs]
    legend = [f"{r.label} ({len(s)} classes, {np.mean(np.asarray(s) == 1):.0%} singletons)" for r, s in zip(runs, sizes)]
    _share_bars(runs, sizes, legend, path, xlabel="class size (responses in the class)", ylabel="share of classes",
                title="class-size histogram (all classes of all prompts)")
    return None


def _patience_curves(runs: list[Run]) -> dict[str, list[tuple[float, float, float]]]:
    from diversity_metrics.metrics.partition_metrics import utility_k

    curves = {}
    for run in runs:
        pairs = run.qualities()
        if not pairs:
            continue
        curves[run.label] = [_ci([utility_k(p, q, patience=pp) for p, q in pairs]) for pp in PATIENCES]
    return curves


def _plot_patience(runs: list[Run], path: Path) -> str | None:
    curves = _patience_curves(runs)
    if not curves:
        return ("the records carry no per-generation 'qualities', so utility_k cannot be recomputed at other "
                "patience values (the table shows utility_k at the run's own patience)")
    fig = Figure(figsize=(9, 4), dpi=_DPI)
    ax = fig.add_subplot(1, 1, 1)
    for (label, points), color in zip(curves.items(), _colors(len(curves))):
        means = np.asarray([m for m, _, _ in points])
        lows = np.asarray([m if math.isnan(lo) else lo for m, lo, _ in points])
        highs = np.asarray([m if math.isnan(hi) else hi for m, _, hi in points])
        ax.plot(PATIENCES, means, marker="o", color=color, label=label)
        ax.fill_between(PATIENCES, lows, highs, color=color, alpha=0.2)
    ax.set_xlabel("patience p")
    ax.set_ylabel("utility_k (mean, 95% CI)")
    ax.set_title("utility against patience (recomputed from stored partitions and qualities)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    return None


def _plot_passk(runs: list[Run], path: Path) -> str | None:
    runs = [r for r in runs if r.at_k]
    if not runs:
        return "no run carries pass@k / maj@k values (math task outputs)"
    kinds = [k for k in ("pass", "maj") if any(k in r.at_k for r in runs)]
    fig = Figure(figsize=(4.8 * len(kinds), 4), dpi=_DPI)
    colors = _colors(len(runs))
    for ai, kind in enumerate(kinds):
        ax = fig.add_subplot(1, len(kinds), ai + 1)
        for run, color in zip(runs, colors):
            series = run.at_k.get(kind)
            if not series:
                continue
            ks = sorted(series)
            points = [_ci(series[k]) for k in ks]
            ax.errorbar(ks, [m for m, _, _ in points], yerr=_err(points), marker="o", capsize=3, color=color,
                        label=run.label)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("k (samples)")
        ax.set_ylabel(f"{kind}@k")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{kind}@k against k")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    return None


_PLOTTERS = {
    "means": (_plot_means, "distinct_k and utility_k per system"),
    "class_counts": (_plot_class_counts, "classes per prompt"),
    "class_sizes": (_plot_class_sizes, "class sizes"),
    "patience": (_plot_patience, "utility against patience"),
    "passk": (_plot_passk, "pass@k and maj@k against k"),
}


# ------------------------------------------------------------------------------------------ table + page
def summary_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """One row per run: label, file, prompts, metric version, and mean / CI of each summary metric."""
    from diversity_metrics.scoring import SUMMARY_METRICS

    rows = []
    for run in runs:
        row: dict[str, Any] = {"system": run.label, "file": str(run.path), "prompts": len(run.records) or None,
                               "metric_version": run.metric_version, "metrics": {}}
        for metric in SUMMARY_METRICS:
            values = run.values(metric)
            if values.size:
                row["metrics"][metric] = dict(zip(("mean", "ci_low", "ci_high"), _ci(values)))
        for kind in ("pass", "maj"):
            for k, values in sorted(run.at_k.get(kind, {}).items()):
                row["metrics"][f"{kind}@{k}"] = dict(zip(("mean", "ci_low", "ci_high"), _ci(values)))
        rows.append(row)
    return rows


def _fmt(cell: dict[str, float] | None) -> str:
    if not cell:
        return "—"
    m, lo, hi = cell["mean"], cell["ci_low"], cell["ci_high"]
    if math.isnan(lo):
        return f"{m:.3f}"
    return f"{m:.3f} <small>[{lo:.3f}, {hi:.3f}]</small>"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child, td.version { text-align: left; }
td.version { font-family: monospace; font-size: 0.85em; }
.warn { background: #fff3cd; border: 1px solid #e0c060; padding: 0.6em 1em; }
.note { color: #666; font-style: italic; }
img { max-width: 100%; border: 1px solid #eee; }
"""


def write_report(
    paths: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    labels: Sequence[str] | None = None,
    title: str = "diversity-metrics report",
    strict: bool = False,
) -> Path:
    """Write ``index.html``, the PNG plots and ``summary.json`` into ``out_dir``; return the HTML path.

    ``strict=True`` raises ``ValueError`` when the runs have different metric versions (default: shown
    with a warning on the page).
    """
    runs = load_runs(paths, labels)
    versions = {r.metric_version for r in runs if r.has_partitions}
    mixed = len(versions) > 1
    if mixed and strict:
        raise ValueError(f"runs have different metric versions, numbers are not comparable: {sorted(map(str, versions))}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sections = []
    images = {}
    for name, (plot, heading) in _PLOTTERS.items():
        png = out / f"report_{name}.png"
        note = plot(runs, png)
        if note is None:
            images[name] = png.name
            sections.append(f'<h2>{html.escape(heading)}</h2>\n<img src="{png.name}" alt="{html.escape(heading)}">')
        else:
            if png.exists():
                png.unlink()  # a stale plot from an earlier report into the same folder
            sections.append(f'<h2>{html.escape(heading)}</h2>\n<p class="note">not shown: {html.escape(note)}</p>')
    rows = summary_rows(runs)
    (out / "summary.json").write_text(json.dumps({"runs": rows, "plots": images, "mixed_metric_versions": mixed},
                                                 indent=2, allow_nan=True) + "\n", encoding="utf-8")
    columns = [c for c in ("distinct_k", "utility_k", "darling_diversity", "semantic_entropy", "distinct_2",
                           "self_bleu") if any(c in r["metrics"] for r in rows)]
    columns += sorted({m for r in rows for m in r["metrics"] if _AT_K.match(m)},
                      key=lambda m: (m.split("@")[0], int(m.split("@")[1])))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["system", "prompts", *columns, "metric version"])
    body = []
    for row in rows:
        version = row["metric_version"] or "—"
        flag = " ⚠" if mixed and row["metric_version"] in versions else ""
        cells = "".join(f"<td>{_fmt(row['metrics'].get(c))}</td>" for c in columns)
        body.append(f"<tr><td>{html.escape(row['system'])}</td><td>{row['prompts'] or '—'}</td>{cells}"
                    f"<td class=\"version\">{html.escape(version)}{flag}</td></tr>")
    warning = ""
    if mixed:
        warning = ('<p class="warn">⚠ These runs were scored under different metric versions (judge, operating '
                   "point, strategy, short rule or package version): their diversity numbers are not comparable. "
                   "Rescore them with the same settings to compare.</p>")
    files = "".join(f"<li>{html.escape(r.label)}: <code>{html.escape(str(r.path))}</code></li>" for r in runs)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<ul>{files}</ul>
{warning}
<h2>Summary</h2>
<p>Means over prompts with 95% percentile bootstrap intervals (resampling prompts).</p>
<table><tr>{head}</tr>
{chr(10).join(body)}
</table>
{chr(10).join(sections)}
</body></html>
"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
