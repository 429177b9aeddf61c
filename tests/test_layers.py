"""The house's layers, the pipeline's stages and its acyclic imports, as `pyproject.toml`
declares them (`[tool.importlinter]`), checked by import-linter over the real source tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_layer_imports_one_above_it_and_no_module_of_the_pipeline_imports_itself_back() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 kept, 0 broken" in result.stdout
