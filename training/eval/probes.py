"""Frozen-feature probes: an attention-pooling (MAP) probe, VideoGLUE-style but small, and cosine k-NN.

Both read the frozen encoder's tokens; neither touches the encoder's weights. The attention probe is
LayerNorm -> one learned query cross-attending over all tokens -> dropout -> linear classifier, trained
with AdamW, cosine decay and label smoothing as in the VideoGLUE frozen-backbone configs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from training.engine.schedule import Schedule, get_lr
from training.model import AttentionPooler
from training.model.layers import layer_norm


@dataclass(frozen=True)
class ProbeConfig:
    steps: int = 300
    batch: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    dropout: float = 0.5
    seed: int = 0


class AttentionProbe(nn.Module):
    def __init__(self, width: int, heads: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.norm = layer_norm(width)
        self.pool = AttentionPooler(width, heads, hidden_dim=width)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.pool(self.norm(tokens))))


def train_attention_probe(
    train_tokens: torch.Tensor,
    train_labels: torch.Tensor,
    test_tokens: torch.Tensor,
    test_labels: torch.Tensor,
    num_classes: int,
    heads: int,
    config: ProbeConfig = ProbeConfig(),
) -> float:
    """Top-1 accuracy on the test tokens of a MAP probe trained on frozen train tokens [N, L, D]."""
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    probe = AttentionProbe(train_tokens.shape[-1], heads, num_classes, config.dropout)
    optimizer = torch.optim.AdamW(probe.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = Schedule(config.lr, config.steps, max(1, config.steps // 20), "cosine")
    probe.train()
    for step in range(config.steps):
        for group in optimizer.param_groups:
            group["lr"] = get_lr(step, schedule)
        idx = torch.randint(0, len(train_tokens), (config.batch,), generator=generator)
        logits = probe(train_tokens[idx].float())
        loss = F.cross_entropy(logits, train_labels[idx], label_smoothing=config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    probe.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(test_tokens), 256):
            logits = probe(test_tokens[start : start + 256].float())
            correct += int((logits.argmax(dim=1) == test_labels[start : start + 256]).sum())
    return correct / len(test_tokens)


def knn_accuracy(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    k: int = 10,
) -> float:
    """Majority vote (ties: similarity-weighted) of the k cosine-nearest train features [N, D]."""
    train = F.normalize(train_features.float(), dim=-1)
    test = F.normalize(test_features.float(), dim=-1)
    sim = test @ train.T
    top_sim, top_idx = sim.topk(k, dim=1)
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    votes = torch.zeros(len(test), num_classes)
    votes.scatter_add_(1, train_labels[top_idx], 1.0 + 1e-3 * top_sim)
    return float((votes.argmax(dim=1) == test_labels).float().mean())
