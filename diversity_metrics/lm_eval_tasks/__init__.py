"""lm-evaluation-harness tasks scored by diversity_metrics (package data: YAML + :mod:`.utils`).

lm-eval 0.4.13 has no plugin entry points: point it at this folder with ``--include_path``::

    lm_eval --model hf --model_args pretrained=MODEL --apply_chat_template \\
        --tasks noveltybench_curated --include_path "$(diversity-metrics tasks-path)"

or ``TaskManager(include_path=tasks_path())`` from Python. Tasks (see docs/lm-eval.md):
``noveltybench_curated``, ``noveltybench_wildchat`` (k = 10; ``_k5`` / ``_k20`` variants, group
``noveltybench``) and ``aime24_passk``, ``aime25_passk``, ``amc23_passk``, ``hmmt_feb25_passk``,
``brumo25_passk`` (n = 16 samples; ``_n64`` / ``_n128`` variants, tag ``diversity_math``).

Importing this module needs neither lm-eval nor torch.

Example:
    >>> tasks_path().name
    'lm_eval_tasks'
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

__all__ = ["tasks_path", "register_cli", "lm_eval_command"]


def tasks_path() -> Path:
    """The folder to pass to lm-eval's ``--include_path`` (or ``TaskManager(include_path=...)``).

    Example:
        >>> (tasks_path() / "noveltybench" / "noveltybench_curated.yaml").is_file()
        True
    """
    return Path(__file__).resolve().parent


def lm_eval_command(args: list[str]) -> list[str]:
    """The ``lm_eval`` command line for ``args`` with ``--include_path <tasks_path()>`` appended.

    Runs lm-eval's own command line with the interpreter of this process, so the tasks import the same
    installed ``diversity_metrics``, through :mod:`diversity_metrics.lm_eval_tasks.run`, which only makes
    the printed results table list metrics in numeric order (pass@2 before pass@16).

    Example:
        >>> lm_eval_command(["--tasks", "aime24_passk"])[-2:] == ["--include_path", str(tasks_path())]
        True
    """
    if isinstance(args, (str, bytes)) or not all(isinstance(a, str) for a in args):
        raise TypeError("args must be a list of command-line strings")
    return [sys.executable, "-m", "diversity_metrics.lm_eval_tasks.run", *args, "--include_path", str(tasks_path())]


def _run_tasks_path(args: argparse.Namespace) -> int:
    print(tasks_path())
    return 0


_LM_EVAL_DESCRIPTION = (
    "Run `python -m lm_eval ARGS --include_path <task folder>`: every argument is passed to lm_eval unchanged, "
    "e.g. `diversity-metrics lm-eval --model hf --model_args pretrained=gpt2 --tasks noveltybench_curated`. "
    "`diversity-metrics lm-eval --help` prints this and then lm_eval's own options."
)


def _run_lm_eval(args: argparse.Namespace) -> int:
    extra = list(args.lm_eval_args)
    if extra and extra[0] == "--":
        extra = extra[1:]
    if not extra:
        raise ValueError("lm-eval needs lm_eval arguments, e.g. `diversity-metrics lm-eval --model hf ... --tasks X`")
    if extra in (["-h"], ["--help"]):
        print(f"usage: diversity-metrics lm-eval LM_EVAL_ARGS...\n\n{_LM_EVAL_DESCRIPTION}\n", flush=True)
    return subprocess.call(lm_eval_command(extra))


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``tasks-path`` and ``lm-eval`` sub-commands to the ``diversity-metrics`` command.

    ``lm-eval`` takes no options of its own: it is built with a prefix character no argument uses, so
    ``--model hf ...`` reaches lm_eval as written instead of being parsed (and refused) here.

    Example:
        >>> parser = argparse.ArgumentParser(prog="diversity-metrics")
        >>> register_cli(parser.add_subparsers(dest="command"))
        >>> parser.parse_args(["lm-eval", "--model", "hf", "--tasks", "aime24_passk"]).lm_eval_args
        ['--model', 'hf', '--tasks', 'aime24_passk']
    """
    p = subparsers.add_parser(
        "tasks-path",
        help="print the lm-eval task folder (for --include_path)",
        description="Print the folder holding this package's lm-evaluation-harness tasks; pass it to "
        "`lm_eval --include_path` or `TaskManager(include_path=...)`.",
    )
    p.set_defaults(func=_run_tasks_path)
    q = subparsers.add_parser(
        "lm-eval",
        help="run lm_eval with this package's tasks (adds --include_path); all arguments go to lm_eval",
        description=_LM_EVAL_DESCRIPTION,
        prefix_chars="\x00",  # no option strings: "--model", "-h", ... are all lm_eval's
        add_help=False,
    )
    q.add_argument("lm_eval_args", nargs=argparse.REMAINDER, help="arguments for lm_eval")
    q.set_defaults(func=_run_lm_eval)
