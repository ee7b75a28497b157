"""The ML data path works without PyTorch: only lasps.ml.torch_data imports it."""

from __future__ import annotations

import subprocess
import sys


def test_no_torch_needed() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"  # any `import torch` now raises ImportError
        "import lasps.ml, lasps.ml.features, lasps.ml.labels, lasps.ml.splits, lasps.ml.charts\n"
        "import lasps.ml.dataset, lasps.ml.builder, lasps.ml.check, lasps.ml.analysis, lasps.cli.ml_cmd\n"
        "try:\n    import lasps.ml.torch_data\nexcept ImportError:\n    print('torch_data needs torch')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "torch_data needs torch"
