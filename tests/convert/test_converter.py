"""The converter: sizes read from shapes, overrides by official or own names, refusals that name the key
and write nothing, the tokenizer check, and the CLI."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.convert.fixtures import random_official_pair
from training.checkpoint import load_model_checkpoint, read_checkpoint_config
from training.cli import main
from training.convert import OfficialCheckpointError, convert_official, load_official, read_official_config
from training.convert.npz import OfficialNpz
from training.model import TextEncoderConfig, VideoEncoderConfig, VideoTextConfig

VIDEO = VideoEncoderConfig(
    patch_size=4, pos_grid=3, num_frames=5, image_size=12, width=24, num_heads=2, mlp_dim=40,
    num_spatial_layers=2, num_temporal_layers=1,
)  # fmt: skip
LVT = VideoTextConfig(
    video=VIDEO,
    text=TextEncoderConfig(vocab_size=32, width=24, num_heads=3, num_layers=2, mlp_dim=96),
    num_auxiliary_layers=1,
)


@pytest.fixture(scope="module")
def npz(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return random_official_pair(tmp_path_factory.mktemp("official"), VIDEO, LVT, seed=0)


def _spm(path: Path, vocab_size: int) -> Path:
    import sentencepiece as spm

    words = ["a", "video", "of", "playing", "drums", "at", "the", "concert", "cat", "dog", "runs", "river"]
    rng = random.Random(0)
    lines = [" ".join(rng.choice(words) for _ in range(8)) + "." for _ in range(300)]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, vocab_size=vocab_size, pad_id=0, unk_id=1,
        bos_id=-1, eos_id=2, minloglevel=2,
    )  # fmt: skip
    path.write_bytes(model.getvalue())
    return path


def _rewrite(src: Path, dst: Path, drop: str = "", add: dict[str, np.ndarray] | None = None) -> Path:
    """Copy an official npz, dropping one key and/or adding arrays."""
    with np.load(src) as data:
        arrays = {k: data[k] for k in data.files if k != drop}
    arrays.update(add or {})
    np.savez(dst, **arrays)  # type: ignore[arg-type]
    return dst


def test_every_size_is_read_from_the_shapes(npz: dict[str, Path]) -> None:
    # The logit cap, image size and text length are not in the file: released values / native resolution.
    assert read_official_config(npz["video"]) == VIDEO
    assert read_official_config(npz["lvt"]) == LVT


def test_overrides_accept_official_and_own_names(npz: dict[str, Path]) -> None:
    dotted: dict[str, Any] = {"video.image_size": 24}  # our field names, qualified by section
    config = read_official_config(
        npz["lvt"], atten_logit_cap=5.0, model_dim=24, pos_emb_shape="5,3,3", num_unimodal_layers=2,
        vocabulary_size=32, norm_policy="pre", scan=True, enable_causal_atten=True, **dotted,
    )  # fmt: skip
    assert isinstance(config, VideoTextConfig)
    assert config.video.atten_logit_cap == config.text.atten_logit_cap == 5.0
    assert config.video.image_size == 24
    assert read_official_config(npz["video"], atten_logit_cap="2.5", image_size="8").atten_logit_cap == 2.5  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="norm_policy"):
        read_official_config(npz["lvt"], norm_policy="primer_hybrid")
    with pytest.raises(ValueError, match="unknown override"):
        read_official_config(npz["lvt"], temperature=0.01)
    with pytest.raises(ValueError, match="video-text"):
        read_official_config(npz["video"], vocabulary_size=32)
    with pytest.raises(ValueError, match="integer"):
        read_official_config(npz["video"], num_spatial_layers=2.5)


def test_loaded_model_carries_the_mapped_weights(npz: dict[str, Path]) -> None:
    model = load_official(npz["lvt"])
    assert not model.training
    with np.load(npz["lvt"]) as data:
        scale = data["params/text_encoder/unimodal_ln/scale"]
        q = data["params/vision_encoder/spatial_encoder/transformers_stack/x_layers/self_attention/query/w"]
    state = model.state_dict()
    np.testing.assert_array_equal(state["text_encoder.unimodal_ln.weight"].numpy(), scale + 1)
    got = state["vision_encoder.spatial_encoder.layers.1.self_attention.query.weight"].numpy()
    np.testing.assert_array_equal(got, q[1].reshape(24, -1).T)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"drop": "params/temporal_ln/bias"}, "missing key 'params/temporal_ln/bias'"),
        ({"add": {"params/extra/w": np.zeros(3, np.float32)}}, "unexpected key 'params/extra/w'"),
        (
            {
                "drop": "params/temporal_ln/scale",
                "add": {"params/temporal_ln/scale": np.zeros(7, np.float32)},
            },
            r"mis-shaped key 'params/temporal_ln/scale': file has \[7\]",
        ),
        ({"add": {"not_params/x": np.zeros(3, np.float32)}}, "does not start with 'params/'"),
    ],
)
def test_mismatching_files_are_refused_and_nothing_is_written(
    npz: dict[str, Path], tmp_path: Path, edit: dict, message: str
) -> None:
    bad = _rewrite(npz["video"], tmp_path / "bad.npz", **edit)
    out = tmp_path / "out"
    with pytest.raises(OfficialCheckpointError, match=message):
        convert_official(bad, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz"]


def test_preset_mismatch_names_the_first_key(npz: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(OfficialCheckpointError, match=r"mis-shaped key 'params/[^']+': file has"):
        convert_official(npz["video"], tmp_path / "out", preset="base")
    with pytest.raises(OfficialCheckpointError, match="video-only checkpoint"):
        convert_official(npz["video"], tmp_path / "out", preset="lvt_base")
    assert not (tmp_path / "out").exists()


def test_wrong_dtype_is_refused(npz: dict[str, Path], tmp_path: Path) -> None:
    with np.load(npz["video"]) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["params/spatial_ln/bias"] = arrays["params/spatial_ln/bias"].astype(np.float64)
    np.savez(tmp_path / "f64.npz", **arrays)  # type: ignore[arg-type]
    with pytest.raises(OfficialCheckpointError, match="float64"):
        convert_official(tmp_path / "f64.npz", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_tokenizer_is_checked_and_copied(npz: dict[str, Path], tmp_path: Path) -> None:
    good = _spm(tmp_path / "good.model", 32)
    result = convert_official(npz["lvt"], tmp_path / "ckpt", tokenizer=good)
    assert not result.video_only
    assert (tmp_path / "ckpt" / "tokenizer.model").read_bytes() == good.read_bytes()
    _, metadata = read_checkpoint_config(tmp_path / "ckpt")
    assert metadata["video_only"] is False and metadata["tokenizer"] == "good.model"
    with pytest.raises(OfficialCheckpointError, match="30 pieces"):
        convert_official(npz["lvt"], tmp_path / "other", tokenizer=_spm(tmp_path / "small.model", 30))
    with pytest.raises(OfficialCheckpointError, match="not a SentencePiece model"):
        convert_official(npz["lvt"], tmp_path / "other", tokenizer=npz["video"])
    with pytest.raises(OfficialCheckpointError, match="video-only encoder"):
        convert_official(npz["video"], tmp_path / "other", tokenizer=good)
    assert not (tmp_path / "other").exists()


def test_cli_converts_and_the_checkpoint_reloads(
    npz: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ckpt"
    argv = ["convert", "--checkpoint", str(npz["lvt"]), "--out", str(out), "--set", "atten_logit_cap=5"]
    assert main(argv) == 0
    assert "video-only" in capsys.readouterr().out
    payload = json.loads((out / "config.json").read_text())
    assert payload["metadata"]["video_only"] is True
    assert payload["metadata"]["model_name"] == "lvt"  # not a released size: named after the file
    assert payload["model"]["video"]["atten_logit_cap"] == payload["model"]["text"]["atten_logit_cap"] == 5.0
    reloaded, direct = load_model_checkpoint(out), load_official(npz["lvt"], atten_logit_cap=5.0)
    frames = torch.rand(1, 2, 12, 12, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(reloaded.encode_video(frames), direct.encode_video(frames))  # type: ignore[operator]
    assert main(argv) == 1  # out exists: refused without --force
    assert "--force" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0
    bad = ["convert", "--checkpoint", str(npz["video"]), "--out", str(tmp_path / "x"), "--preset", "large"]
    assert main(bad) == 1
    assert "mis-shaped key" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_config_resolution_reads_no_array_data(npz: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Sizes come from the .npy headers, so a bad file is refused before any (multi-GB) data is read."""

    def no_data(self: OfficialNpz, key: str) -> np.ndarray:
        raise AssertionError(f"array data of {key} was read")

    monkeypatch.setattr(OfficialNpz, "load", no_data)
    assert read_official_config(npz["lvt"]) == LVT
    with pytest.raises(OfficialCheckpointError):
        read_official_config(npz["lvt"], preset="lvt_base")
