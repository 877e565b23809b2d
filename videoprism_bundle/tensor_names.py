"""Input and output names of a bundle's ONNX graphs: the exporter names them, the loader checks them and the
runtimes feed them, all from here."""

from __future__ import annotations

VIDEO_INPUT = "frames"  # float32 [B, T, S, S, 3]
INPUT_IDS = "input_ids"  # int64 [B, L]
PADDINGS = "paddings"  # float32 [B, L], 1.0 at padded positions
TEXT_INPUTS = (INPUT_IDS, PADDINGS)
EMBEDDINGS = "embeddings"  # float32 [B, D], the served output of both encoders
TOKENS = "tokens"  # float32 [B, T*N, D], an optional extra output of the video encoder (parity checks)
