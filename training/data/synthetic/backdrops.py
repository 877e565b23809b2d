"""Static backdrops. They never move, so any motion in a clip belongs to the objects."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from training.data.synthetic.vocabulary import BACKDROP_RGB, Backdrop, BackdropColour

# The second tone of striped and checkered backdrops: light enough to see, dim enough that objects stand out.
_PATTERN_LIFT = 0.12
_NOISE_STD = 0.06


def render_backdrop(
    backdrop: Backdrop,
    colour: BackdropColour,
    height: int,
    width: int,
    uniforms: npt.NDArray[np.float64],
    noise_rng: np.random.Generator,
) -> npt.NDArray[np.float32]:
    """One backdrop image: float32 [H, W, 3] in [0, 1].

    uniforms: float64 [2] in [0, 1): stripe or check period and stripe orientation.
    """
    base = np.asarray(BACKDROP_RGB[colour], dtype=np.float32)
    image = np.broadcast_to(base, (height, width, 3))
    if backdrop is Backdrop.PLAIN:
        return image.copy()
    if backdrop is Backdrop.NOISE:
        noise = noise_rng.normal(0.0, _NOISE_STD, size=(height, width, 1)).astype(np.float32)
        return np.clip(image + noise, 0.0, 1.0)
    period = 4 + int(uniforms[0] * 5)  # 4-8 pixels per tone
    ys = np.arange(height)[:, None]
    xs = np.arange(width)[None, :]
    if backdrop is Backdrop.STRIPED:
        orientation = int(uniforms[1] * 3)  # horizontal, vertical or diagonal
        coordinate = (ys + 0 * xs, xs + 0 * ys, xs + ys)[orientation]
        lifted = (coordinate // period) % 2 == 1
    elif backdrop is Backdrop.CHECKERED:
        lifted = ((ys // period) + (xs // period)) % 2 == 1
    else:
        raise ValueError(f"unknown backdrop {backdrop!r}")
    return image + np.float32(_PATTERN_LIFT) * lifted[:, :, None].astype(np.float32)
