"""Text->video retrieval through bundles (ONNX Runtime), to check that a precision preset keeps accuracy.

    python -m training.export.bundle_retrieval --reference FP32_BUNDLE --candidate INT8_BUNDLE \
        [--split heldout] [--n 500] [--max-drop 2.0]

Prints, for each bundle, R@1/5/10 in both directions (text->video and video->text) on the same clips.
Acceptance gate of the int8 preset: text->video R@1 on the synthetic held-out split within 2 points of
fp32. Exits 1 when the candidate's R@1 is more than --max-drop points below the reference's.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from training.export.parity import cpu_session
from videoprism_bundle.loader import load_bundle
from videoprism_bundle.tensor_names import EMBEDDINGS, INPUT_IDS, PADDINGS, VIDEO_INPUT
from videoprism_bundle.tokenizer import TextTokenizer

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class BundleEmbeddings:
    video: FloatArray  # [N, D]
    text: FloatArray  # [N, D]


def embed_with_bundle(
    bundle_dir: Path, frames: npt.NDArray[np.uint8], captions: Sequence[str], batch: int = 32
) -> BundleEmbeddings:
    """uint8 clips [N, T, S, S, 3] (already at the bundle's T and S) and their captions -> embeddings."""
    bundle = load_bundle(bundle_dir)
    spec = bundle.manifest
    if bundle.text_encoder is None or bundle.tokenizer is None or spec.text is None:
        raise ValueError(f"{bundle_dir}: retrieval needs a bundle with a text encoder")
    expected = (spec.video.num_frames, spec.video.image_size, spec.video.image_size, 3)
    if frames.shape[1:] != expected:
        raise ValueError(f"clips are {frames.shape[1:]}, the bundle takes {expected}")
    video_session = cpu_session(bundle.video_encoder)
    text_session = cpu_session(bundle.text_encoder)
    low, high = spec.video.value_range
    videos = []
    for start in range(0, len(frames), batch):
        clip = frames[start : start + batch].astype(np.float32) * np.float32(
            (high - low) / 255.0
        ) + np.float32(low)
        videos.append(video_session.run([EMBEDDINGS], {VIDEO_INPUT: clip})[0])
    tokenizer = TextTokenizer(
        bundle.tokenizer,
        max_length=spec.text.max_length,
        canonicalize=spec.text.canonicalize,
        pad_id=spec.text.pad_id,
    )
    texts = []
    for start in range(0, len(captions), batch):
        tokens = tokenizer.encode_batch(list(captions[start : start + batch]))
        texts.append(text_session.run([EMBEDDINGS], {INPUT_IDS: tokens.ids, PADDINGS: tokens.paddings})[0])
    return BundleEmbeddings(video=np.concatenate(videos), text=np.concatenate(texts))


def text_to_video_recall(video: FloatArray, text: FloatArray, k: int = 1) -> float:
    """Fraction of captions whose own clip (same row) ranks in the top k of all clips by cosine.

    Ties count against the query (every other clip scoring >= the own clip outranks it), so degenerate
    constant embeddings score 0, not 1.
    """
    similarity = text.astype(np.float64) @ video.astype(np.float64).T
    own = np.diagonal(similarity)[:, None]
    others = similarity >= own
    np.fill_diagonal(others, False)
    return float((others.sum(axis=1) < k).mean())


RECALL_KS = (1, 5, 10)


def recall_table(video: FloatArray, text: FloatArray, ks: Sequence[int] = RECALL_KS) -> dict[str, float]:
    """{"t2v_R@k", "v2t_R@k"} in percent for every k: text queries against all clips, and clip queries
    against all captions (the same own-item, ties-lose rule as `text_to_video_recall`)."""
    out = {f"t2v_R@{k}": 100.0 * text_to_video_recall(video, text, k) for k in ks}
    out.update({f"v2t_R@{k}": 100.0 * text_to_video_recall(text, video, k) for k in ks})
    return out


def format_recalls(recalls: dict[str, float]) -> str:
    parts = []
    for direction, label in (("t2v", "text->video"), ("v2t", "video->text")):
        cells = " ".join(f"{k.split('_')[1]} {v:.2f}" for k, v in recalls.items() if k.startswith(direction))
        parts.append(f"{label} {cells}")
    return "; ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True, help="the fp32 bundle")
    parser.add_argument("--candidate", type=Path, required=True, help="the bundle under test (e.g. int8)")
    parser.add_argument("--split", choices=("heldout", "train", "all"), default="heldout")
    parser.add_argument("--n", type=int, default=500, help="clips in the evaluation set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-drop", type=float, default=2.0, help="allowed R@1 drop in points")
    args = parser.parse_args(argv)
    from training.data.synthetic.dataset import make_eval_set

    eval_set = make_eval_set(args.split, n=args.n, seed=args.seed)
    scores = {}
    for role, bundle in (("reference", args.reference), ("candidate", args.candidate)):
        embeddings = embed_with_bundle(bundle, eval_set.frames, eval_set.captions)
        recalls = recall_table(embeddings.video, embeddings.text)
        scores[role] = recalls["t2v_R@1"]
        precision = load_bundle(bundle).manifest.precision
        print(f"{role}: {bundle} ({precision}) on {args.split} n={args.n}: {format_recalls(recalls)}")
    drop = scores["reference"] - scores["candidate"]
    print(f"drop: {drop:.2f} points (allowed {args.max_drop:.2f})")
    return 0 if drop <= args.max_drop else 1


if __name__ == "__main__":
    raise SystemExit(main())
