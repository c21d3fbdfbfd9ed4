"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
# third-party data lives beside the checkout (../shared), never inside it
SHARED_DIR = REPO_ROOT.parent / "shared"
NOVELTYBENCH_DIR = SHARED_DIR / "data" / "noveltybench"
MATH_DIR = SHARED_DIR / "data" / "math"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"../shared not found at {SHARED_DIR}: the test data must sit beside the checkout")
    return SHARED_DIR
