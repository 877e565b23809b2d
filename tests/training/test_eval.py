"""Retrieval metric protocol, probes and k-NN on separable toy features."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from training.eval.probes import ProbeConfig, knn_accuracy, train_attention_probe
from training.eval.retrieval import own_item_ranks, retrieval_metrics


def test_perfect_embeddings_give_recall_one_and_constant_ones_give_zero() -> None:
    x = F.normalize(torch.randn(20, 8), dim=-1)
    perfect = retrieval_metrics(x, x)
    assert perfect["t2v_R@1"] == perfect["v2t_R@1"] == 1.0
    const = F.normalize(torch.ones(20, 8), dim=-1)
    tied = retrieval_metrics(const, const)
    assert tied["t2v_R@10"] == 0.0  # ties count against the query, never for it


def test_own_item_rank_counts_only_the_query_s_own_item() -> None:
    sim = torch.tensor([[0.9, 0.95, 0.1], [0.2, 0.8, 0.1], [0.3, 0.2, 0.1]])
    assert own_item_ranks(sim).tolist() == [1, 0, 2]
    metrics = retrieval_metrics(torch.eye(3), torch.eye(3)[[0, 2, 1]])  # texts 1 and 2 swapped
    assert abs(metrics["t2v_R@1"] - 1 / 3) < 1e-6


def test_probes_learn_separable_labels() -> None:
    torch.manual_seed(0)
    labels = torch.randint(0, 3, (120,))
    centres = torch.randn(3, 16) * 3
    tokens = centres[labels][:, None, :] + 0.3 * torch.randn(120, 6, 16)
    acc = train_attention_probe(
        tokens[:80], labels[:80], tokens[80:], labels[80:], num_classes=3, heads=2,
        config=ProbeConfig(steps=60, batch=32, lr=3e-3),
    )  # fmt: skip
    assert acc > 0.9
    assert knn_accuracy(tokens[:80].mean(1), labels[:80], tokens[80:].mean(1), labels[80:], k=5) > 0.9
