"""Symmetric InfoNCE over every video-text pair of the (all-gathered) batch, CLIP-style temperature."""

from __future__ import annotations

import math
import warnings

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

MAX_LOGIT_SCALE = math.log(100.0)  # CLIP clamps the learned scale so logits never exceed 100 x cosine


def all_gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate x [b, D] from every rank in rank order; gradients flow back to each rank's own slice.

    A plain `dist.all_gather` returns detached copies, which would drop the gradient of the negatives that
    other ranks contributed; the autograd-aware variant sums those gradients back (reduce-scatter).
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    from torch.distributed.nn.functional import all_gather

    with warnings.catch_warnings():
        # Deprecated in favour of a private functional-collectives API; it is still the public autograd one.
        warnings.simplefilter("ignore", FutureWarning)
        return torch.cat(all_gather(x), dim=0)


class ContrastiveLoss(nn.Module):
    """video, text [b, D] L2-normalised (this rank's rows) -> {"contrastive_loss", "logit_scale", ...}.

    Each rank scores its own rows against the whole global batch and averages over its rows; averaging
    the gradients over ranks then equals the gradient of the global-batch mean. Optional `foils` [b * F, D]
    (hard-negative captions, training.data.synthetic.foils) join the candidates of the video-to-text
    softmax only: a foil has no clip of its own, so it has no text-to-video row.
    """

    def __init__(self, init_temperature: float = 0.07, learn_temperature: bool = True) -> None:
        super().__init__()
        self.logit_scale = nn.Parameter(
            torch.tensor(math.log(1.0 / init_temperature)), requires_grad=learn_temperature
        )

    def temperature(self) -> float:
        """The temperature the loss uses now (after the clamp): 1 / logit scale."""
        return float(torch.exp(-self.logit_scale.detach().clamp(max=MAX_LOGIT_SCALE)))

    def forward(
        self, video: torch.Tensor, text: torch.Tensor, foils: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        # Out of autocast: a bf16 cosine has a resolution of about 0.004, which the logit scale (up to 100)
        # turns into logit noise of up to 0.4, enough to reorder near-duplicate captions.
        with torch.autocast(device_type=video.device.type, enabled=False):
            return self._scores(video, text, foils)

    def _scores(
        self, video: torch.Tensor, text: torch.Tensor, foils: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        all_video = all_gather_with_grad(video)
        all_text = all_gather_with_grad(text)
        if foils is not None:
            all_text = torch.cat([all_text, all_gather_with_grad(foils)], dim=0)
        offset = 0
        if dist.is_available() and dist.is_initialized():
            offset = dist.get_rank() * video.shape[0]
        labels = torch.arange(video.shape[0], device=video.device) + offset
        scale = self.logit_scale.clamp(max=MAX_LOGIT_SCALE).exp()
        logits_v2t = scale * video.float() @ all_text.float().T  # (b, B), or (b, B + B * F) with foils
        logits_t2v = scale * text.float() @ all_video.float().T  # (b, B)
        loss = 0.5 * (F.cross_entropy(logits_v2t, labels) + F.cross_entropy(logits_t2v, labels))
        with torch.no_grad():
            accuracy = (logits_v2t.argmax(dim=1) == labels).float().mean()
        metrics = {"contrastive_loss": loss, "logit_scale": scale.detach(), "v2t_batch_accuracy": accuracy}
        if foils is not None:
            with torch.no_grad():
                # How often a clip scores its caption above each of its own foils: the question foils ask.
                own_foils = foils.float().view(video.shape[0], -1, foils.shape[-1])  # (b, F, D)
                foil_logits = scale * torch.einsum("bd,bfd->bf", video.float(), own_foils)
                caption_logits = logits_v2t.gather(1, labels[:, None])
                metrics["foil_accuracy"] = (caption_logits > foil_logits).float().mean()
        return metrics
