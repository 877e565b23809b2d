"""Resumable trainer state, beside (not inside) the model checkpoint.

Layout of a run directory:
  model/          the model checkpoint (`model.safetensors` + `config.json`), what export reads
  state/          `trainable.safetensors` (everything the optimizer updates, decoders and temperature
                  included), `optimizer.pt`, `rng.pt`, `state.json` (step, resolved run config)
  metrics.jsonl   one line per logged step
The learning rate is a pure function of the step, so the scheduler's state is the step itself.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

STATE_DIR = "state"


def rng_state() -> dict[str, Any]:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def save_state(
    run_dir: str | Path,
    trainable: nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    run_config: dict[str, Any],
) -> Path:
    """Write the state for resuming *before* optimizer step `step` (i.e. `step` steps are done)."""
    out = Path(run_dir) / STATE_DIR
    tmp = out.with_name(STATE_DIR + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in trainable.state_dict().items()}
    save_file(tensors, str(tmp / "trainable.safetensors"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(rng_state(), tmp / "rng.pt")
    (tmp / "state.json").write_text(json.dumps({"step": step, "config": run_config}, indent=2) + "\n")
    # Swap in the complete directory last so a crash mid-write never leaves a half-written state behind.
    if out.exists():
        old = out.with_name(STATE_DIR + ".old")
        out.rename(old)
        tmp.rename(out)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        tmp.rename(out)
    return out


def has_state(run_dir: str | Path) -> bool:
    return (Path(run_dir) / STATE_DIR / "state.json").exists()


def load_state(run_dir: str | Path, trainable: nn.Module, optimizer: torch.optim.Optimizer) -> int:
    """Restore weights, optimizer and RNG; returns the number of steps already done."""
    src = Path(run_dir) / STATE_DIR
    trainable.load_state_dict(load_file(str(src / "trainable.safetensors")), strict=True)
    optimizer.load_state_dict(torch.load(src / "optimizer.pt", weights_only=False))
    set_rng_state(torch.load(src / "rng.pt", weights_only=False))
    return int(json.loads((src / "state.json").read_text())["step"])
