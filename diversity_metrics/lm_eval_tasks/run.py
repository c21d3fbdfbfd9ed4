"""``python -m diversity_metrics.lm_eval_tasks.run ARGS``: lm_eval's own command line, with its results table
listing metrics in numeric order (pass@1, pass@2, ..., pass@16), as ``diversity-metrics lm-eval`` runs it.

lm-eval 0.4.x prints the table with ``sorted()`` over the ``"metric,filter"`` names, as text, so pass@16
comes before pass@2 whatever the order of ``metric_list`` in the task YAML (``lm_eval.utils.make_table``).
This runner wraps ``make_table`` so that the names compare by :func:`natural_key` (digits as numbers) and
then runs ``lm_eval.__main__.cli_evaluate`` unchanged; results JSON, sample logs and metric names are
lm-eval's own. Plain ``lm_eval ... --include_path`` keeps lm-eval's text order.

Example:
    >>> sorted(["pass@16,all", "pass@2,all", "maj@1,all"], key=natural_key)
    ['maj@1,all', 'pass@2,all', 'pass@16,all']
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["natural_key", "numeric_table", "main"]

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[Any, ...]:
    """``"pass@16,all"`` -> ``("pass@", 16, ",all")``: text parts as text, digit runs as integers."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(_DIGITS.split(name)))


class _NumericName(str):
    """A metric name that sorts by :func:`natural_key`; equal to, and hashed as, the plain string."""

    __slots__ = ()

    def __lt__(self, other: object) -> bool:
        return natural_key(self) < natural_key(str(other))

    def __gt__(self, other: object) -> bool:
        return natural_key(self) > natural_key(str(other))


def numeric_table(make_table: Callable[..., str]) -> Callable[..., str]:
    """``make_table`` with the metric names of each task compared numerically (same signature)."""

    def table(result_dict: dict[str, Any], column: str = "results", sort_results: bool = False) -> str:
        rows = {
            task: {_NumericName(name): value for name, value in metrics.items()}
            for task, metrics in result_dict.get(column, {}).items()
        }
        return make_table({**result_dict, column: rows}, column, sort_results)

    return table


def main(argv: Sequence[str] | None = None) -> None:
    """Run lm_eval's command line on ``argv`` (default ``sys.argv[1:]``) with the numeric results table."""
    import lm_eval.utils
    from lm_eval.__main__ import cli_evaluate

    lm_eval.utils.make_table = numeric_table(lm_eval.utils.make_table)
    sys.argv = ["lm_eval", *(sys.argv[1:] if argv is None else argv)]
    cli_evaluate()


if __name__ == "__main__":
    main()
