"""The factorized VideoPrism encoder: a spatial ViT over each frame, then a temporal transformer per patch."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from training.masking import gather_tokens
from training.model.config import VideoEncoderConfig
from training.model.layers import init_linear_, layer_norm, tower_stack
from training.model.position import resize_spatial, resize_temporal


class VideoEncoder(nn.Module):
    """frames [B, T, H, W, 3] RGB in [0, 1] (channels-last, H == W) -> tokens [B, T*N, D], time-major.

    `token_paddings` [B, T, N] (1 = drop) generalises the official `frame_paddings` [B, T]: a dropped token is
    a masked key in both transformers and gets no FFN update, so the remaining tokens see only each other.
    Stage 2 uses it to make the student see only the visible tokens of a block mask.

    `keep_patches` [B, K] (spatial patch indices, ascending) is the compute-saving form of a tube mask: only
    those K patches of every frame enter the transformers, and the output is [B, T*K, D] (time-major over
    the kept patches), equal to the padded tokens at those positions.
    """

    def __init__(self, config: VideoEncoderConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.patch_projection: nn.Module = (
            ConvPatchStem(conv_stem_layers(c.patch_stem, c.patch_size, c.width, c.stem_frames), c.stem_frames)
            if c.patch_stem != "linear"
            else nn.Linear(c.patch_size * c.patch_size * 3, c.width)
        )
        self.spatial_pos_emb = nn.Parameter(torch.zeros(c.pos_grid * c.pos_grid, c.width))
        self.temporal_pos_emb = nn.Parameter(torch.zeros(c.num_frames, c.width))
        self.spatial_encoder = tower_stack(c, c.num_spatial_layers, "gelu")
        self.spatial_ln = layer_norm(c.width)
        self.temporal_encoder = tower_stack(c, c.num_temporal_layers, "gelu")
        self.temporal_ln = layer_norm(c.width)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_linear_(self)
        nn.init.normal_(self.spatial_pos_emb, std=0.02)
        nn.init.normal_(self.temporal_pos_emb, std=0.02)

    def set_grad_checkpointing(self, enabled: bool = True) -> None:
        self.spatial_encoder.grad_checkpointing = enabled
        self.temporal_encoder.grad_checkpointing = enabled

    def _check_frames(self, frames: torch.Tensor) -> None:
        height, width = frames.shape[2:4]
        if height != width:
            raise ValueError(f"frames must be square (H == W), got {height}x{width}")
        if height % self.config.patch_size:
            raise ValueError(
                f"frame side {height} is not a multiple of the patch size {self.config.patch_size}"
            )

    def patchify(self, frames: torch.Tensor) -> torch.Tensor:
        """frames [B, T, H, W, 3] -> patches [B*T, N, P*P*3], each ordered (row, col, channel)."""
        batch, time, height, _, channels = frames.shape
        self._check_frames(frames)
        p = self.config.patch_size
        grid = height // p
        x = frames.reshape(batch * time, grid, p, grid, p, channels)
        x = x.permute(0, 1, 3, 2, 4, 5)  # (B*T, gh, gw, P, P, 3)
        return x.reshape(batch * time, grid * grid, p * p * channels)

    def forward_intermediates(
        self,
        frames: torch.Tensor,
        frame_paddings: torch.Tensor | None = None,
        token_paddings: torch.Tensor | None = None,
        keep_patches: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Returns `spatial_features` (after spatial_ln) and `spatiotemporal_features` (the tokens), both
        [B, T*N, D] time-major (index t*N + n); N is K with `keep_patches`."""
        batch, time = frames.shape[:2]
        grid = frames.shape[2] // self.config.patch_size
        num_patches = grid * grid
        width = self.config.width

        if isinstance(self.patch_projection, ConvPatchStem):
            self._check_frames(frames)
            x = self.patch_projection(frames)  # (B*T, N, D)
        else:
            x = self.patch_projection(self.patchify(frames))  # (B*T, N, D)
        x = x + resize_spatial(self.spatial_pos_emb, self.config.pos_grid, grid, grid)
        if keep_patches is not None:
            x = _keep_patches(x, keep_patches, time)
            num_patches = keep_patches.shape[1]

        paddings = _merge_paddings(frame_paddings, token_paddings, batch, time, num_patches, x.dtype)
        spatial_pad = None if paddings is None else paddings.reshape(batch * time, num_patches)
        x = self.spatial_ln(self.spatial_encoder(x, spatial_pad))  # (B*T, N, D)
        spatial_features = x.reshape(batch, time * num_patches, width)

        x = x.reshape(batch, time, num_patches, width).transpose(1, 2)  # (B, N, T, D)
        x = x.reshape(batch * num_patches, time, width)  # (B*N, T, D)
        x = x + resize_temporal(self.temporal_pos_emb, time)
        temporal_pad = None
        if paddings is not None:
            temporal_pad = paddings.transpose(1, 2).reshape(batch * num_patches, time)  # (B*N, T)
        x = self.temporal_ln(self.temporal_encoder(x, temporal_pad))  # (B*N, T, D)
        x = x.reshape(batch, num_patches, time, width).transpose(1, 2)  # (B, T, N, D)
        tokens = x.reshape(batch, time * num_patches, width)  # (B, T*N, D), time-major
        return {"spatial_features": spatial_features, "spatiotemporal_features": tokens}

    def forward(
        self,
        frames: torch.Tensor,
        frame_paddings: torch.Tensor | None = None,
        token_paddings: torch.Tensor | None = None,
        keep_patches: torch.Tensor | None = None,
    ) -> torch.Tensor:
        features = self.forward_intermediates(frames, frame_paddings, token_paddings, keep_patches)
        return features["spatiotemporal_features"]


@dataclass(frozen=True)
class ConvLayer:
    """One convolution of a `ConvPatchStem` (square kernel, padding keeps side / stride exact)."""

    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    padding: int


def conv_stem_layers(stem: str, patch_size: int, width: int, frames: int = 1) -> list[ConvLayer]:
    """The convolutions of a "conv" or "conv4" stem, for the module and for FLOP counts; the first layer
    reads 3 * `frames` channels (`ConvPatchStem` stacks each frame with its neighbours).

    "conv": log2(P) stride-2 3x3 layers, channels doubling up to the width (D/4, D/2, D, D for P = 16).
    "conv4": one 4x4 stride-4 layer, then log2(P/4) stride-2 3x3 layers (D/4, D/2, D for P = 16): the
    first layer at full resolution is most of "conv"'s cost (training/model/config.py)."""
    if stem == "conv":
        strides = [2] * (patch_size.bit_length() - 1)
        channels = [max(8, width >> (len(strides) - 2 - i)) for i in range(len(strides) - 1)] + [width]
    elif stem == "conv4":
        strides = [4] + [2] * (patch_size.bit_length() - 3)
        channels = [max(8, width >> (len(strides) - 1 - i)) for i in range(len(strides))]
    else:
        raise ValueError(f"no convolutional stem named {stem!r}")
    layers, previous = [], 3 * frames
    for stride, out in zip(strides, channels, strict=True):
        kernel, padding = (4, 0) if stride == 4 else (3, 1)
        layers.append(ConvLayer(previous, out, kernel, stride, padding))
        previous = out
    return layers


class ConvPatchStem(nn.Module):
    """frames [B, T, H, W, 3] -> tokens [B*T, (H/P)^2, D] through the convolutions of `conv_stem_layers`,
    with a GroupNorm(1) + GELU after each but the last. With `frames` = 2r + 1 > 1 the first layer reads
    each frame stacked with the r frames before and after it (edge frames repeated), channel-wise.

    Token order is row-major like `patchify`, so positions and the rest of the encoder are unchanged.
    Why: a linear patchify of 16x16 patches learns the shape of a small object slowly
    (`videoprism-train learnability`); convolutions see it at every offset with the same weights."""

    def __init__(self, plan: list[ConvLayer], frames: int = 1) -> None:
        super().__init__()
        self.frames = frames
        layers: list[nn.Module] = []
        for i, layer in enumerate(plan):
            layers.append(
                nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel, layer.stride, layer.padding)
            )
            if i < len(plan) - 1:
                layers += [nn.GroupNorm(1, layer.out_channels), nn.GELU()]
        self.layers = nn.Sequential(*layers)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        batch, time, height, width, channels = frames.shape
        if self.frames > 1:
            frames = torch.cat(_neighbour_frames(frames, self.frames // 2), dim=-1)
            channels = frames.shape[-1]
        x = frames.reshape(batch * time, height, width, channels).permute(0, 3, 1, 2)
        x = self.layers(x)  # (B*T, D, H/P, W/P)
        return x.flatten(2).transpose(1, 2)


def _keep_patches(x: torch.Tensor, keep: torch.Tensor, time: int) -> torch.Tensor:
    """x [B*T, N, D], keep [B, K] -> x[:, keep[b]] as [B*T, K, D], the same patches in each of b's frames."""
    return gather_tokens(x, keep.repeat_interleave(time, dim=0))


def _neighbour_frames(frames: torch.Tensor, radius: int) -> list[torch.Tensor]:
    """[B, T, ...] -> the 2 * radius + 1 copies shifted by -radius..radius frames, edge frames repeated.

    One-frame shifts with slices and concatenation (not a gather with computed indices) keep the ONNX graph
    free of the frame count, and work for any T >= 1."""
    before, after = [frames], [frames]
    for _ in range(radius):
        previous, following = before[0], after[-1]
        before.insert(0, torch.cat([previous[:, :1], previous[:, :-1]], dim=1))
        after.append(torch.cat([following[:, 1:], following[:, -1:]], dim=1))
    return before + after[1:]


def _merge_paddings(
    frame_paddings: torch.Tensor | None,
    token_paddings: torch.Tensor | None,
    batch: int,
    time: int,
    num_patches: int,
    dtype: torch.dtype,
) -> torch.Tensor | None:
    """Combine [B, T] frame paddings and [B, T, N] token paddings into one [B, T, N] float mask."""
    merged: torch.Tensor | None = None
    if frame_paddings is not None:
        merged = frame_paddings.to(dtype)[:, :, None].expand(batch, time, num_patches)
    if token_paddings is not None:
        tokens = token_paddings.to(dtype).reshape(batch, time, num_patches)
        merged = tokens if merged is None else torch.maximum(merged, tokens)
    return merged
