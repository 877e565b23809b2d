"""A `select` filter expression picking any set of decoded-frame numbers at a cost of O(log runs) per frame.

ffmpeg's expression parser refuses more than about 100 nested terms, so one `eq(n,i)` per frame fails past
100 frames. Here consecutive indices become runs `between(n,a,b)`, and the runs become the leaves of a
balanced binary tree of `if(lt(n,m),left,right)`; ffmpeg evaluates `if` lazily, so each decoded frame
walks one root-to-leaf path (depth log2(runs)), and the nesting stays far below the parser's limit.
"""

from __future__ import annotations

from collections.abc import Sequence


def frame_runs(indices: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted, distinct `indices` as inclusive runs [(a, b), ...] of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _leaf(run: tuple[int, int]) -> str:
    a, b = run
    return f"eq(n,{a})" if a == b else f"between(n,{a},{b})"


def _tree(runs: Sequence[tuple[int, int]]) -> str:
    if len(runs) == 1:
        return _leaf(runs[0])
    mid = len(runs) // 2
    # Frames below the first frame of the right half can only match a run of the left half.
    return f"if(lt(n,{runs[mid][0]}),{_tree(runs[:mid])},{_tree(runs[mid:])})"


def select_expression(indices: Sequence[int]) -> str:
    """An expression that is non-zero exactly for the decoded-frame numbers `n` in `indices`.

    `indices` must be sorted and distinct (and non-empty).
    """
    if not indices:
        raise ValueError("no frame to select")
    return _tree(frame_runs(indices))
