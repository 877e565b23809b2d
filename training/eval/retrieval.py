"""Zero-shot text<->video retrieval, strictly by the rank of each query's own item.

Protocol: every text query (the caption of clip i) is ranked against *all* N clips by cosine similarity;
it is a hit at k when clip i itself is among the top k. Clips of the same (appearance, motion) combo are
other clips, not hits, even when their captions name the same factors, so a model that finds the right
combo but not the right clip among its ~N/combos siblings is penalised. Ties are broken against the query
(the own item's rank counts every item scoring >= it), so constant embeddings score R@k = 0 rather than 1.
Video->text is the same with the roles swapped.
"""

from __future__ import annotations

import torch


def own_item_ranks(similarity: torch.Tensor) -> torch.Tensor:
    """similarity [Q, N] with query i's own item at column i -> 0-based rank of that item, [Q]."""
    own = similarity.diagonal()[:, None]
    diagonal = torch.eye(similarity.shape[0], similarity.shape[1], dtype=torch.bool)
    return ((similarity >= own) & ~diagonal).sum(dim=1)


def recall_at(ranks: torch.Tensor, ks: tuple[int, ...] = (1, 5, 10)) -> dict[str, float]:
    return {f"R@{k}": float((ranks < k).float().mean()) for k in ks}


def retrieval_metrics(video: torch.Tensor, text: torch.Tensor) -> dict[str, float]:
    """video, text [N, D] L2-normalised, row i of each from clip i -> t2v_R@k, v2t_R@k and median ranks."""
    sim = text.float() @ video.float().T  # (N texts, N clips)
    t2v, v2t = own_item_ranks(sim), own_item_ranks(sim.T)
    out = {f"t2v_{k}": v for k, v in recall_at(t2v).items()}
    out.update({f"v2t_{k}": v for k, v in recall_at(v2t).items()})
    out["t2v_median_rank"] = float(t2v.float().median() + 1)
    out["v2t_median_rank"] = float(v2t.float().median() + 1)
    out["num_items"] = float(sim.shape[0])
    return out
