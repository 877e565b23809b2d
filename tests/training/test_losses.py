"""Loss modules: named terms, temperature clamp, symmetry, cosine distillation."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from training.losses import MAX_LOGIT_SCALE, ContrastiveLoss, DistillationLoss, sum_losses


def _unit(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x, dim=-1)


def test_contrastive_loss_matches_a_direct_computation_and_is_symmetric() -> None:
    torch.manual_seed(0)
    v, t = _unit(torch.randn(6, 8)), _unit(torch.randn(6, 8))
    loss = ContrastiveLoss(init_temperature=0.1)
    out = loss(v, t)
    logits = 10.0 * v @ t.T
    labels = torch.arange(6)
    expected = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
    assert torch.allclose(out["contrastive_loss"], expected, atol=1e-5)
    assert torch.allclose(loss(t, v)["contrastive_loss"], out["contrastive_loss"], atol=1e-6)


def test_contrastive_logits_stay_fp32_under_bf16_autocast() -> None:
    # Near-duplicate captions differ in the third decimal of their cosine: bf16 logits would round that away.
    torch.manual_seed(0)
    v, t = _unit(torch.randn(32, 64)), _unit(torch.randn(32, 64))
    loss = ContrastiveLoss(init_temperature=0.01)
    plain = loss(v, t, foils=t)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        mixed = loss(v, t, foils=t)
    assert mixed["contrastive_loss"].dtype == torch.float32
    assert torch.equal(mixed["contrastive_loss"], plain["contrastive_loss"])
    assert torch.equal(mixed["foil_accuracy"], plain["foil_accuracy"])


def test_aligned_pairs_give_a_lower_loss_than_shuffled_pairs() -> None:
    torch.manual_seed(1)
    v = _unit(torch.randn(16, 32))
    loss = ContrastiveLoss()
    assert loss(v, v)["contrastive_loss"] < loss(v, v.roll(1, 0))["contrastive_loss"]


def test_logit_scale_is_clamped_at_100() -> None:
    loss = ContrastiveLoss()
    with torch.no_grad():
        loss.logit_scale.fill_(10.0)
    out = loss(_unit(torch.randn(4, 8)), _unit(torch.randn(4, 8)))
    assert math.isclose(float(out["logit_scale"]), 100.0, rel_tol=1e-5)
    assert math.isclose(MAX_LOGIT_SCALE, math.log(100.0))
    out["contrastive_loss"].backward()
    assert loss.logit_scale.grad is not None and float(loss.logit_scale.grad) == 0.0


def test_temperature_gets_a_gradient_below_the_clamp() -> None:
    loss = ContrastiveLoss()
    loss(_unit(torch.randn(4, 8)), _unit(torch.randn(4, 8)))["contrastive_loss"].backward()
    assert loss.logit_scale.grad is not None and float(loss.logit_scale.grad) != 0.0


def test_distillation_is_zero_for_a_perfect_student_and_ignores_scale() -> None:
    target_tokens, target_global = torch.randn(2, 10, 4), torch.randn(2, 4)
    terms = DistillationLoss()(3.0 * target_tokens, target_tokens, 0.5 * target_global, target_global)
    assert float(terms["token_loss"]) < 1e-6 and float(terms["global_loss"]) < 1e-6
    opposite = DistillationLoss()(-target_tokens, target_tokens, None, target_global)
    assert math.isclose(float(opposite["token_loss"]), 2.0, rel_tol=1e-5)
    assert "global_loss" not in opposite


def test_distillation_targets_get_no_gradient() -> None:
    target = torch.randn(2, 5, 4, requires_grad=True)
    pred = torch.randn(2, 5, 4, requires_grad=True)
    DistillationLoss()(pred, target, None, torch.zeros(2, 4))["token_loss"].backward()
    assert pred.grad is not None and target.grad is None


def test_weights_scale_the_terms_and_sum_uses_only_loss_keys() -> None:
    tokens, glob = torch.randn(2, 3, 4), torch.randn(2, 4)
    pred_t, pred_g = torch.randn(2, 3, 4), torch.randn(2, 4)
    base = DistillationLoss()(pred_t, tokens, pred_g, glob, mask=torch.tensor([[1.0, 0, 1], [0, 1, 1]]))
    doubled = DistillationLoss(2.0, 3.0)(pred_t, tokens, pred_g, glob)
    assert torch.allclose(doubled["token_loss"], 2 * base["token_loss"])
    assert torch.allclose(doubled["global_loss"], 3 * base["global_loss"])
    assert "token_distance_masked" in base
    assert torch.allclose(sum_losses(base), base["token_loss"] + base["global_loss"])


def test_foils_join_only_the_video_to_text_softmax() -> None:
    torch.manual_seed(2)
    b, f = 5, 2
    v, t, foils = _unit(torch.randn(b, 8)), _unit(torch.randn(b, 8)), _unit(torch.randn(b * f, 8))
    loss = ContrastiveLoss(init_temperature=0.1)
    out = loss(v, t, foils)
    labels = torch.arange(b)
    v2t = 10.0 * v @ torch.cat([t, foils]).T
    t2v = 10.0 * t @ v.T
    expected = 0.5 * (F.cross_entropy(v2t, labels) + F.cross_entropy(t2v, labels))
    assert torch.allclose(out["contrastive_loss"], expected, atol=1e-5)
    assert out["contrastive_loss"] > loss(v, t)["contrastive_loss"]  # more negatives, never a lower loss


def test_foil_accuracy_is_the_share_of_clip_foil_pairs_where_the_caption_wins() -> None:
    v = torch.eye(4)[:2]  # clip 0 along axis 0, clip 1 along axis 1, each equal to its caption
    t = v.clone()
    # Clip 0's foils: orthogonal (caption wins), equal to its caption (a tie is no win); clip 1's: a foil
    # at cosine 0.6 (caption wins) and one orthogonal (wins).
    foils = torch.tensor([[0.0, 0, 1, 0], [1, 0, 0, 0], [0, 0.6, 0.8, 0], [0, 0, 0, 1]])
    out = ContrastiveLoss()(v, t, foils)
    assert out["foil_accuracy"].item() == 0.75
