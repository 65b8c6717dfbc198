"""Shared fixtures. Tests that need ../shared (the corpus) skip cleanly when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus"


def corpus_path(*parts: str) -> Path:
    """A path inside ../shared/corpus; skips the calling test when the corpus is not there."""
    if not CORPUS.is_dir():
        pytest.skip("../shared corpus not present")
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared corpus has no {'/'.join(parts)}")
    return path


@pytest.fixture
def corpus():
    """`corpus("terraform-plans", "aws", "x.json")` -> Path, or skip when ../shared is absent."""
    return corpus_path


@pytest.fixture(scope="session")
def catalog():
    from tollgate.providers.bundled import BundledCatalog

    return BundledCatalog()
