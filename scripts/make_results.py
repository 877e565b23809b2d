"""Generate the ablation tables of docs/results.md from fixed seeds (one command, resumable).

    .venv/bin/python scripts/make_results.py --scale demo --seeds 0 1 2

The same as `python -m training.eval.ablation` (which see): kept so older notes' commands still work.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.eval.ablation import main

if __name__ == "__main__":
    raise SystemExit(main())
