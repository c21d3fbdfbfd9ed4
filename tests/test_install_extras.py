"""`pip install diversity-metrics` without extras: metrics and estimators with numpy/scipy only, no torch.

Two checks run the same script (``CHECK``):

* ``test_without_optional_packages_*``: this venv's interpreter with an import hook that makes every optional
  package (torch, transformers, sacrebleu, ...) look uninstalled -- fast, always runs;
* ``test_fresh_venv_pip_install_without_extras``: a real fresh venv (``python -m venv``), ``pip install`` of a copy
  of the source with the base dependencies from pyproject.toml (local wheel index / pip cache), then the script.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from diversity_metrics._extras import EXTRAS, MissingExtraError, install_hint, missing_extra_error, require

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = sorted({m for mods in EXTRAS.values() for m in mods})

BLOCK = textwrap.dedent(
    f"""
    import importlib.abc, sys
    BLOCKED = set({OPTIONAL!r})
    class _NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None
    sys.meta_path.insert(0, _NotInstalled())
    """
)

CHECK = textwrap.dedent(
    """
    import json, sys
    import diversity_metrics as dm
    from diversity_metrics._extras import MissingExtraError
    out = {
        "pass_at_k": dm.pass_at_k(num_samples=[8, 16], num_correct=[3, 0], k=4).round(4).tolist(),
        "maj_at_k": dm.maj_at_k([3, 2], 0, 3),
        "distinct_k": dm.distinct_k([0, 0, 1, 2]),
        "utility_k": round(float(dm.utility_k([0, 0, 1, 2], [5, 5, 3, 4])), 4),
        "vendi": round(float(dm.vendi_score(similarity=[[1, .9, 0], [.9, 1, 0], [0, 0, 1]])), 4),
        "partition": dm.partition(["Blue", "blue", "Red"], judge="unigram"),
        "errors": {},
    }
    import diversity_metrics.metrics.lexical as lexical
    out["distinct_1"] = lexical.distinct_n(["a b", "a c"], n=1)
    for name, call in [("learned", lambda: dm.get_judge("learned")), ("embedding", lambda: dm.get_judge("embedding")),
                       ("math", lambda: dm.get_judge("math")), ("self_bleu", lambda: lexical.self_bleu(["a b", "a c"])),
                       ("scorer", lambda: dm.RewardModelScorer("./no-model"))]:
        try:
            call()
            out["errors"][name] = None
        except MissingExtraError as exc:
            out["errors"][name] = str(exc)
    import diversity_metrics.cli  # the command's parser builds without the extras
    diversity_metrics.cli.build_parser()
    heavy = ("torch", "transformers", "sentence_transformers", "sacrebleu", "sklearn", "math_verify")
    out["heavy_loaded"] = sorted(m for m in sys.modules if m.partition(".")[0] in heavy)
    print(json.dumps(out))
    """
)


def _check(out: dict) -> None:
    assert out["pass_at_k"] == [0.9286, 0.0]
    assert out["distinct_k"] == 3 and out["utility_k"] == pytest.approx(3.0379, abs=1e-4)
    assert out["vendi"] == 2.1573 and 0.0 <= out["maj_at_k"] <= 1.0
    assert out["partition"] == [0, 0, 1]
    assert out["distinct_1"] == pytest.approx(0.75)
    for name, extra in [("learned", "judges"), ("embedding", "judges"), ("math", "judges"), ("scorer", "judges"),
                        ("self_bleu", "lexical")]:  # fmt: skip
        assert out["errors"][name] is not None and install_hint(extra) in out["errors"][name], (name, out["errors"])
    assert out["heavy_loaded"] == []


def _run(python: str, code: str, cwd: Path) -> dict:
    proc = subprocess.run([python, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONNOUSERSITE": "1"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_without_optional_packages_metrics_work_and_model_features_name_their_extra(tmp_path: Path) -> None:
    _check(_run(sys.executable, BLOCK + CHECK, tmp_path))


def test_base_dependencies_are_numpy_scipy_tqdm_and_all_holds_every_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = sorted(d.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip() for d in project["dependencies"])
    assert names == ["numpy", "scipy", "tqdm"]
    extras = project["optional-dependencies"]
    assert {"judges", "lexical", "train", "lm-eval", "verl", "trl", "report", "all"} <= set(extras)
    (everything,) = extras["all"]
    assert set(everything.partition("[")[2].rstrip("]").split(",")) == set(extras) - {"all", "test"}
    assert any(d.startswith("torch") for d in extras["judges"]) and any("scikit-learn" in d for d in extras["train"])
    assert set(EXTRAS) <= set(extras)  # every extra the error messages name exists


@pytest.mark.slow
def test_fresh_venv_pip_install_without_extras(tmp_path: Path) -> None:
    """A real `pip install .` (no extras) into a new venv: no torch, and the metrics work (about 20 s, local index)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    if any(d.startswith(("torch", "transformers")) for d in project["dependencies"]):
        pytest.fail("pyproject.toml still lists torch/transformers as base dependencies (see requests.md, H12b)")
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    for package in ("diversity_metrics", "verl_plugin"):
        shutil.copytree(ROOT / package, src / package, ignore=ignore)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(src)],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert pip.returncode == 0, pip.stderr[-3000:]
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    installed = {p["name"].lower() for p in json.loads(listed)}
    assert "torch" not in installed and "transformers" not in installed and "sacrebleu" not in installed
    assert {"numpy", "scipy", "diversity-metrics"} <= installed
    _check(_run(str(venv / "bin" / "python"), CHECK, tmp_path))


def test_require_and_missing_extra_error() -> None:
    assert require("json", extra="judges", feature="x").dumps({}) == "{}"
    with pytest.raises(MissingExtraError, match=r"the learned judge needs the Python package 'scikit-learn'.*\[train\]"):
        raise missing_extra_error(ModuleNotFoundError("No module named 'sklearn'", name="sklearn"),
                                  extra="train", feature="the learned judge")  # fmt: skip
    with pytest.raises(ImportError, match=r"diversity-metrics\[lexical\]"):  # a MissingExtraError is an ImportError
        require("no_such_module_h12b", extra="lexical", feature="self_bleu")
    with pytest.raises(ValueError, match="extra must be one of"):
        require("json", extra="gpu", feature="x")
