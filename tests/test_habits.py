"""House habits that a reviewer should not have to police: small modules, no paths outside the
repository, one formatting style (the last is `ruff format --check` in .ci/run)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 300


def tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *patterns],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        pytest.skip(f"not a git checkout: {out.stderr.strip()}")
    return [ROOT / p for p in out.stdout.split() if (ROOT / p).is_file()]


def test_no_module_over_300_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in tracked("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them by concept): {long}"


def test_no_file_points_outside_the_repository():
    outside = "../" + "shared"  # spelled in two parts, so that this file does not match itself
    hits = [
        str(p.relative_to(ROOT))
        for p in tracked("*.py", "*.md", "*.yaml", "*.toml", "*.ipynb", "*.txt", ".ci/*")
        if outside in p.read_text(errors="ignore")
    ]
    assert not hits, f"files that refer to a path outside the repository: {hits}"
