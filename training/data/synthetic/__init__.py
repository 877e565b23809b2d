"""A procedurally rendered video-text world whose appearance and motion vary independently."""

from training.data.synthetic.dataset import TINY, EvalSet, SyntheticConfig, SyntheticVideoText, make_eval_set
from training.data.synthetic.factors import ClipFactors, ComboSplit, Split, make_combo_split

__all__ = [
    "TINY",
    "ClipFactors",
    "ComboSplit",
    "EvalSet",
    "Split",
    "SyntheticConfig",
    "SyntheticVideoText",
    "make_combo_split",
    "make_eval_set",
]
