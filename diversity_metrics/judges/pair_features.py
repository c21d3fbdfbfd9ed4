"""Symmetric pair features for the learned judge: phi(a, b) == phi(b, a) exactly.

Inputs are the per-text rows produced by :class:`diversity_metrics.judges.learned.ChunkEncoder`
(``[n_chunks, chunk_0, ..., chunk_{K-1}]``, each chunk an L2-normalised mean-pooled embedding) and the
raw texts. Feature groups (each a function of the unordered pair):

* ``cos``: cosine of the mean-of-chunks embeddings, of the first chunks and of the last chunks, chunk
  alignment ``0.5 * (mean_i max_j S_ij + mean_j max_i S_ij)`` and ``max_ij S_ij`` with ``S = A B^T``
  (BERTScore-style matching at chunk level), and the mean of ``S_kk`` over shared positions ``k``.
* ``vec``: ``|m_a - m_b|`` and ``m_a * m_b`` element-wise for the mean-of-chunks embeddings ``m``.
* ``lex``: word n-gram Jaccard ``|A & B| / |A | B|`` (n = 1, 2, 3), unigram containment
  ``|A & B| / min(|A|, |B|)``, Jaccard of the first 20 words and of number tokens, word-count
  ratio ``min / max`` and ``log1p`` of the min and max word counts, equal first line.
* ``struct``: markdown structure -- Jaccard of the bold phrases, and for the counts of non-empty lines,
  list items, headers and bold phrases: ``min(log1p(c_a), log1p(c_b))`` and ``|log1p(c_a) - log1p(c_b)|``.
* ``ctr``: *content contrast* -- signs that two answers share their wording but not their content, each
  written as a similarity (1 = no contrast), over content words (NFKC, case-folded, possessive ``'s``
  dropped, crude suffix stripping so "picked"/"pick" match, number words 0-20, 30-50, hundred, thousand
  and dozen written as digits, stop words removed):
  ``no_word_swap = 1 - J * [each side has a content word the other lacks]`` (``J`` the Jaccard of the
  content-word sets: high overlap with a substitution, e.g. "... is Canberra." vs "... is Sydney.");
  ``no_short_number_conflict = 1 - [both have <= 20 content words and numbers, and no number in common]``
  ("... in 1969." vs "... in 1972."; "eight" and "8" are one number);
  ``no_name_conflict = 1 - [each side has a capitalised word inside a sentence (a name) that is not among
  the other's content words]`` ("Jane Austen wrote ..." vs "Charlotte Bronte wrote ...").
* ``ans``: *short-answer miss* -- ``no_short_answer_miss = 1 - [the side with fewer content words has at most
  3, some of them are not yes/no words, and none of those occurs among the other side's content words]``: a
  bare answer that the other text never names ("Affect." vs "It depends on the rest of the sentence."; "Paris."
  vs "The capital of France is Paris." has no miss); with equal counts either side's miss counts, so the
  feature is symmetric.
* ``tok``: IDF-weighted token alignment (BERTScore, Zhang et al., 2020, with IDF weights) over each text's
  *token sketch* -- the contextual embeddings of its ``K`` distinct word pieces of highest IDF:
  ``R = sum_i w_i max_j <a_i, b_j> / sum_i w_i``, ``P`` the same from ``b``'s side, feature ``(R + P) / 2``.
* ``ptok``: *answer-focused* token alignment -- the same alignment with the weight of every sketch piece
  that also occurs in the prompt set to 0 (``sketch_masks`` marks them), so the pair is compared on what the
  answers add to the question ("... is Canberra." vs "... is Sydney." for "What is the capital of
  Australia?"). Without a prompt, or when either side has nothing outside the prompt, it equals ``tok``.

Reference: the pair-feature design follows Sentence-BERT's ``(|u - v|, u * v)`` classification
objective (Reimers & Gurevych, 2019) with lexical overlap as in NoveltyBench's baselines.

Example:
    >>> import numpy as np
    >>> e = np.zeros((2, 1 + 2 * 3), dtype=np.float32); e[:, 0] = 1; e[:, 1:4] = [1, 0, 0]
    >>> phi = pair_features(e[:1], e[1:], ["a b c"], ["a b d"], feature_set="lex")
    >>> round(float(phi[0, 0]), 3)   # unigram Jaccard {a,b} / {a,b,c,d}
    0.5
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

__all__ = ["FEATURE_SETS", "SHORT_CONTENT_WORDS", "content_words", "feature_names", "name_words", "pair_features"]

FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "lex": ("lex",),
    "cos": ("cos",),
    "cos+lex": ("cos", "lex"),
    "cos+lex+struct": ("cos", "lex", "struct"),
    "vec+cos+lex+struct": ("vec", "cos", "lex", "struct"),
    "cos+lex+struct+tok": ("cos", "lex", "struct", "tok"),
    "cos+lex+struct+tok+ctr": ("cos", "lex", "struct", "tok", "ctr"),
    "cos+lex+struct+tok+ctr+ptok": ("cos", "lex", "struct", "tok", "ctr", "ptok"),
    "cos+lex+struct+tok+ctr+ptok+ans": ("cos", "lex", "struct", "tok", "ctr", "ptok", "ans"),
}

_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_LEX_NAMES = (
    "jaccard_1",
    "jaccard_2",
    "jaccard_3",
    "containment_1",
    "jaccard_first20",
    "jaccard_numbers",
    "length_ratio",
    "log_min_words",
    "log_max_words",
    "same_first_line",
)
_STRUCT_NAMES = (
    "jaccard_bold",
    "log_min_lines",
    "logdiff_lines",
    "log_min_items",
    "logdiff_items",
    "log_min_headers",
    "logdiff_headers",
    "log_min_bold",
    "logdiff_bold",
)
_TOK_NAMES = ("token_align",)
_PTOK_NAMES = ("token_align_answer",)
_CTR_NAMES = ("no_word_swap", "no_short_number_conflict", "no_name_conflict")
_ANS_NAMES = ("no_short_answer_miss",)
SHORT_CONTENT_WORDS = 20
SHORT_ANSWER_WORDS = 3
# Words that say yes or no (or hedge it) rather than name an answer; a bare "Yes." has no answer word to look for.
_POLARITY_WORDS = frozenset(
    "yes yeah yep yup nope nah sure definitely absolutely certainly indeed correct true false right wrong".split()
)
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "hundred": "100", "thousand": "1000", "dozen": "12"}
_STOP_WORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being it its this that these
    those i you he she we they me him her us them my your his our their do does did have has had not no so than then
    there here very can could will would should may might must just also about into over under up down out more most
    some any all each what which who whom whose when where why how""".split()
)
_CONTENT_TOKEN = re.compile(r"[\w'\u2019]+")
_NUMERIC = re.compile(r"\d+")
_COS_NAMES = ("cos_mean", "cos_first", "chunk_align", "chunk_max", "cos_positional", "cos_last")
_ITEM = re.compile(r"\s*(?:[-*+\u2022]|\d+[.)])\s")
_HEADER = re.compile(r"\s*#")
_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")


def _ngrams(words: list[str], n: int) -> frozenset[tuple[str, ...]]:
    return frozenset(zip(*(words[i:] for i in range(n)), strict=False))


def _jaccard(a: frozenset, b: frozenset) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 1.0


class _TextStats:
    __slots__ = ("bold", "content", "counts", "first20", "first_line", "grams", "n_content", "n_words", "names", "numbers")

    def __init__(self, text: str) -> None:
        words = _WORD.findall(text.lower())
        self.n_words = len(words)
        self.grams = [_ngrams(words, n) for n in (1, 2, 3)]
        self.first20 = frozenset(words[:20])
        self.numbers = frozenset(_NUMBER.findall(text))
        stripped = text.strip()
        self.first_line = stripped.split("\n", 1)[0].strip().lower() if stripped else ""
        lines = [line for line in text.split("\n") if line.strip()]
        bold = _BOLD.findall(text)
        self.bold = frozenset(b.strip(" :").lower() for b in bold)
        n_items = sum(1 for line in lines if _ITEM.match(line))
        n_headers = sum(1 for line in lines if _HEADER.match(line))
        self.counts = (math.log1p(len(lines)), math.log1p(n_items), math.log1p(n_headers), math.log1p(len(bold)))
        content = content_words(text)
        self.n_content = len(content)
        self.content = frozenset(content)
        self.names = frozenset(name_words(text))


def _stem(word: str) -> str:
    """Crude suffix stripping (``-ies``, ``-es``, ``-s``, ``-ed``, ``-ing``) so "picked"/"pick" and "sports"/"sport" match."""
    if len(word) <= 4 or not word.isalpha():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    if word.endswith("ing") and len(word) > 5:
        return word[:-3]
    if word.endswith("ed") and len(word) > 5:
        return word[:-2]
    return word


def _content_word(token: str) -> str:
    word = token.replace("\u2019", "'")
    if word.endswith("'s"):
        word = word[:-2]
    word = word.strip("'")
    return _NUMBER_WORDS.get(word) or _stem(word)


def content_words(text: str) -> list[str]:
    """Content words of ``text`` in order: NFKC, case-folded, ``'s`` dropped, number words as digits, no stop words.

    Example:
        >>> content_words("The Moon's pull has Eight effects.")
        ['moon', 'pull', '8', 'effect']
    """
    out = []
    for token in _CONTENT_TOKEN.findall(unicodedata.normalize("NFKC", text).casefold()):
        word = _content_word(token)
        if word and word not in _STOP_WORDS:
            out.append(word)
    return out


def name_words(text: str) -> list[str]:
    """Capitalised words inside a sentence (not after ``.``/``!``/``?``/``:`` or at the start), as content words.

    Example:
        >>> name_words("The capital is Canberra. Sydney is bigger, says Ann.")
        ['canberra', 'ann']
    """
    tokens = unicodedata.normalize("NFKC", text).split()
    out = []
    for prev, token in zip(tokens, tokens[1:], strict=False):
        core = token.lstrip("\"'(\u201c\u2018[*")
        if core[:1].isupper() and len(core) > 1 and not prev.rstrip("\"')\u201d\u2019]*").endswith((".", "!", "?", ":")):
            words = [_content_word(w) for w in _CONTENT_TOKEN.findall(core.casefold())]
            out += [w for w in words[:1] if w and w not in _STOP_WORDS]
    return out


def _lex_row(a: _TextStats, b: _TextStats) -> list[float]:
    ua, ub = a.grams[0], b.grams[0]
    small = min(len(ua), len(ub))
    lo, hi = sorted((a.n_words, b.n_words))
    return [
        _jaccard(a.grams[0], b.grams[0]),
        _jaccard(a.grams[1], b.grams[1]),
        _jaccard(a.grams[2], b.grams[2]),
        len(ua & ub) / small if small else float(len(ua) == len(ub)),
        _jaccard(a.first20, b.first20),
        _jaccard(a.numbers, b.numbers),
        lo / hi if hi else 1.0,
        math.log1p(lo),
        math.log1p(hi),
        float(a.first_line == b.first_line),
    ]


def _ctr_row(a: _TextStats, b: _TextStats) -> list[float]:
    only_a, only_b = a.content - b.content, b.content - a.content
    union = a.content | b.content
    overlap = len(a.content & b.content) / len(union) if union else 1.0
    swap = bool(only_a) and bool(only_b)
    short = max(a.n_content, b.n_content) <= SHORT_CONTENT_WORDS
    nums_a = {w for w in a.content if _NUMERIC.fullmatch(w)}
    nums_b = {w for w in b.content if _NUMERIC.fullmatch(w)}
    return [
        1.0 - overlap * swap,
        1.0 - float(short and bool(nums_a) and bool(nums_b) and not nums_a & nums_b),
        1.0 - float(bool(a.names - b.content) and bool(b.names - a.content)),
    ]


def _singular(word: str) -> str:
    """``_stem`` keeps words of four letters, so "cats" / "cat" are folded here."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _ans_row(a: _TextStats, b: _TextStats) -> list[float]:
    fewest = min(a.n_content, b.n_content)

    def misses(short: _TextStats, other: _TextStats) -> bool:
        answer = {_singular(w) for w in short.content - _POLARITY_WORDS}
        return short.n_content == fewest and bool(answer) and not answer & {_singular(w) for w in other.content}

    return [1.0 - float(fewest <= SHORT_ANSWER_WORDS and (misses(a, b) or misses(b, a)))]


def _struct_row(a: _TextStats, b: _TextStats) -> list[float]:
    row = [_jaccard(a.bold, b.bold)]
    for ca, cb in zip(a.counts, b.counts, strict=True):
        row += [min(ca, cb), abs(ca - cb)]
    return row


def _text_groups(texts_a: Sequence[str], texts_b: Sequence[str], groups: tuple[str, ...]) -> dict[str, np.ndarray]:
    stats: dict[str, _TextStats] = {}
    for t in (*texts_a, *texts_b):
        if t not in stats:
            stats[t] = _TextStats(t)
    out: dict[str, np.ndarray] = {}
    for group, row in (("lex", _lex_row), ("struct", _struct_row), ("ctr", _ctr_row), ("ans", _ans_row)):
        if group in groups:
            out[group] = np.array(
                [row(stats[a], stats[b]) for a, b in zip(texts_a, texts_b, strict=True)], dtype=np.float64
            ).reshape(len(texts_a), -1)
    return out


def _chunk_view(emb: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    emb = np.asarray(emb, dtype=np.float64)
    counts = np.maximum(np.rint(emb[:, 0]).astype(np.int64), 1)
    chunks = emb[:, 1:].reshape(emb.shape[0], -1, dim)
    mask = np.arange(chunks.shape[1])[None, :] < counts[:, None]
    return chunks, mask


def _mean_embedding(chunks: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = (chunks * mask[..., None]).sum(1)
    norm = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norm > 0, norm, 1.0)


def _cos(emb_a: np.ndarray, emb_b: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ca, ma = _chunk_view(emb_a, dim)
    cb, mb = _chunk_view(emb_b, dim)
    mean_a, mean_b = _mean_embedding(ca, ma), _mean_embedding(cb, mb)
    sim = np.einsum("nid,njd->nij", ca, cb)
    valid = ma[:, :, None] & mb[:, None, :]
    sim_masked = np.where(valid, sim, -np.inf)
    row_best = sim_masked.max(2)  # best match in b for each chunk of a
    col_best = sim_masked.max(1)
    recall = np.where(ma, row_best, 0.0).sum(1) / ma.sum(1)
    precision = np.where(mb, col_best, 0.0).sum(1) / mb.sum(1)
    diag = np.einsum("nkd,nkd->nk", ca, cb)  # chunk k of a vs chunk k of b
    both = ma & mb
    positional = np.where(both, diag, 0.0).sum(1) / both.sum(1)
    rows = np.arange(ca.shape[0])
    last = (ca[rows, ma.sum(1) - 1] * cb[rows, mb.sum(1) - 1]).sum(1)
    cols = np.stack(
        [
            (mean_a * mean_b).sum(1),
            (ca[:, 0] * cb[:, 0]).sum(1),
            0.5 * (recall + precision),
            sim_masked.max((1, 2)),
            positional,
            last,
        ],
        axis=1,
    )
    return cols, mean_a, mean_b


def _token_align(
    sketch_a: np.ndarray,
    sketch_b: np.ndarray,
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    dim: int,
    k: int,
    block: int = 256,
) -> np.ndarray:
    n = sketch_a.shape[0]
    # Each pair is computed in one canonical order (by text), so the value is symmetric bit for bit.
    swap = np.fromiter((a > b for a, b in zip(texts_a, texts_b, strict=True)), dtype=bool, count=n)
    out = np.empty(n, dtype=np.float64)
    for s in range(0, n, block):
        sw = swap[s : s + block, None]
        first = np.where(sw, sketch_b[s : s + block], sketch_a[s : s + block]).astype(np.float64)
        second = np.where(sw, sketch_a[s : s + block], sketch_b[s : s + block]).astype(np.float64)
        va, wa = first[:, : k * dim].reshape(-1, k, dim), first[:, k * dim :]
        vb, wb = second[:, : k * dim].reshape(-1, k, dim), second[:, k * dim :]
        ma, mb = wa > 0, wb > 0
        sim = np.matmul(va, vb.transpose(0, 2, 1))
        row = np.where(mb[:, None, :], sim, -2.0).max(2)  # cosines are >= -1: -2 marks "no token"
        col = np.where(ma[:, :, None], sim, -2.0).max(1)
        sa, sb = wa.sum(1), wb.sum(1)
        ok = ma.any(1) & mb.any(1)
        recall = np.where(ma, row * wa, 0.0).sum(1) / np.where(ok, sa, 1.0)
        precision = np.where(mb, col * wb, 0.0).sum(1) / np.where(ok, sb, 1.0)
        empty = np.where(~ma.any(1) & ~mb.any(1), 1.0, 0.0)
        out[s : s + block] = np.where(ok, 0.5 * (recall + precision), empty)
    return out[:, None]


def _answer_align(
    sketch_a: np.ndarray,
    sketch_b: np.ndarray,
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    dim: int,
    k: int,
    masks: tuple[np.ndarray, np.ndarray] | None,
    plain: np.ndarray,
) -> np.ndarray:
    """Token alignment without the pieces the prompt holds; ``plain`` where a side has nothing else."""
    if masks is None:
        return plain.copy()
    mask_a, mask_b = (np.asarray(m, dtype=bool) for m in masks)
    n = sketch_a.shape[0]
    if mask_a.shape != (n, k) or mask_b.shape != (n, k):
        raise ValueError(f"sketch_masks must be two boolean arrays of shape ({n}, {k}), got {mask_a.shape} and {mask_b.shape}")
    sketch_a, sketch_b = np.array(sketch_a, dtype=np.float32), np.array(sketch_b, dtype=np.float32)
    weights_a, weights_b = sketch_a[:, k * dim :], sketch_b[:, k * dim :]
    weights_a[mask_a] = 0.0
    weights_b[mask_b] = 0.0
    left = (weights_a > 0).any(1) & (weights_b > 0).any(1)
    out = plain.copy()
    if left.any():
        idx = np.flatnonzero(left)
        out[idx] = _token_align(
            sketch_a[idx], sketch_b[idx], [texts_a[i] for i in idx], [texts_b[i] for i in idx], dim, k
        )
    return out


def feature_names(feature_set: str, dim: int) -> list[str]:
    """Names of the columns that :func:`pair_features` returns for ``feature_set``."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"feature_set must be one of {sorted(FEATURE_SETS)}, got {feature_set!r}")
    names: list[str] = []
    for group in FEATURE_SETS[feature_set]:
        if group == "vec":
            names += [f"absdiff_{i}" for i in range(dim)] + [f"prod_{i}" for i in range(dim)]
        elif group == "cos":
            names += list(_COS_NAMES)
        elif group == "lex":
            names += list(_LEX_NAMES)
        elif group == "tok":
            names += list(_TOK_NAMES)
        elif group == "ctr":
            names += list(_CTR_NAMES)
        elif group == "ptok":
            names += list(_PTOK_NAMES)
        elif group == "ans":
            names += list(_ANS_NAMES)
        else:
            names += list(_STRUCT_NAMES)
    return names


def pair_features(
    emb_a: np.ndarray,
    emb_b: np.ndarray,
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    *,
    feature_set: str,
    dim: int = 384,
    sketch_tokens: int = 0,
    sketch_masks: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Return the symmetric feature matrix ``phi(a_i, b_i)`` (one row per pair) for ``feature_set``.

    ``emb_*`` rows are ``[n_chunks, chunk_0, ..., chunk_{C-1}]`` with chunk width ``dim``, followed, when
    ``sketch_tokens = K > 0``, by the token sketch: ``K`` token embeddings (``K * dim`` numbers) and their
    ``K`` IDF weights (0 marks an unused slot). ``sketch_masks`` (two boolean ``(n, K)`` arrays, for the
    ``ptok`` group) marks the sketch slots whose word piece occurs in the pair's prompt; ``None`` means no
    prompt. Every column is a symmetric function of the pair, so ``pair_features(a, b) == pair_features(b, a)``
    bit for bit.
    """
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"feature_set must be one of {sorted(FEATURE_SETS)}, got {feature_set!r}")
    groups = FEATURE_SETS[feature_set]
    if ("tok" in groups or "ptok" in groups) and sketch_tokens < 1:
        raise ValueError(f"feature_set {feature_set!r} needs token sketches: sketch_tokens must be >= 1")
    parts: list[np.ndarray] = []
    cos_cols = mean_a = mean_b = tok_cols = ptok_cols = None
    if sketch_tokens > 0 and emb_a is not None:
        width = sketch_tokens * (dim + 1)
        emb_a, emb_b = np.asarray(emb_a), np.asarray(emb_b)
        if emb_a.ndim != 2 or emb_a.shape != emb_b.shape or emb_a.shape[1] <= width:
            raise ValueError(
                f"emb_a and emb_b must have shape (n, 1 + C * {dim} + {width}) and match, got "
                f"{emb_a.shape} and {emb_b.shape}"
            )
        if "tok" in groups or "ptok" in groups:
            tok_cols = _token_align(emb_a[:, -width:], emb_b[:, -width:], texts_a, texts_b, dim, sketch_tokens)
        if "ptok" in groups:
            ptok_cols = _answer_align(
                emb_a[:, -width:], emb_b[:, -width:], texts_a, texts_b, dim, sketch_tokens, sketch_masks, tok_cols
            )
        emb_a, emb_b = emb_a[:, :-width], emb_b[:, :-width]
    if "cos" in groups or "vec" in groups:
        emb_a, emb_b = np.asarray(emb_a), np.asarray(emb_b)
        if emb_a.ndim != 2 or (emb_a.shape[1] - 1) % dim or emb_a.shape != emb_b.shape:
            raise ValueError(
                f"emb_a and emb_b must have shape (n, 1 + K * {dim}) and match, got {emb_a.shape} and {emb_b.shape}"
            )
        cos_cols, mean_a, mean_b = _cos(emb_a, emb_b, dim)
    text_cols = _text_groups(texts_a, texts_b, groups)
    for group in groups:
        if group == "vec":
            parts += [np.abs(mean_a - mean_b), mean_a * mean_b]
        elif group == "cos":
            parts.append(cos_cols)
        elif group == "tok":
            parts.append(tok_cols)
        elif group == "ptok":
            parts.append(ptok_cols)
        else:
            parts.append(text_cols[group])
    return np.concatenate(parts, axis=1)
