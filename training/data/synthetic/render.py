"""Render a synthetic clip from its factors and latents, all frames at once with numpy broadcasting."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from training.data.synthetic.backdrops import render_backdrop
from training.data.synthetic.factors import ClipFactors
from training.data.synthetic.shapes import shape_mask, surface_brightness
from training.data.synthetic.trajectories import NUM_LATENTS, ObjectTrack, object_tracks
from training.data.synthetic.vocabulary import COLOUR_RGB

# Farthest any shape reaches from its centre, in radii (a square's corner: 0.8 * sqrt(2)), plus a margin.
_SHAPE_REACH = 1.2


@dataclass(frozen=True)
class ClipLatents:
    """The continuous randomness of a clip, drawn identically whatever its factors."""

    motion: npt.NDArray[np.float64]  # [NUM_LATENTS] uniforms: placement, angle, bounce phase, pair axis
    backdrop: npt.NDArray[np.float64]  # [2] uniforms: pattern period and orientation
    noise_seed: int  # seeds the noise backdrop


def draw_latents(rng: np.random.Generator) -> ClipLatents:
    return ClipLatents(
        motion=rng.random(NUM_LATENTS),
        backdrop=rng.random(2),
        noise_seed=int(rng.integers(2**31)),
    )


def render_clip(
    factors: ClipFactors, latents: ClipLatents, *, num_frames: int, height: int, width: int
) -> npt.NDArray[np.uint8]:
    """frames: [T, H, W, 3] uint8."""
    backdrop = render_backdrop(
        factors.backdrop,
        factors.backdrop_colour,
        height,
        width,
        latents.backdrop,
        np.random.default_rng(latents.noise_seed),
    )
    canvas = np.repeat(backdrop[None], num_frames, axis=0)  # (T, H, W, 3)
    colour = np.asarray(COLOUR_RGB[factors.colour], dtype=np.float32)
    for track in object_tracks(factors, latents.motion, height, width, num_frames):
        _draw_object(canvas, track, factors, colour)
    return (canvas * 255.0 + 0.5).astype(np.uint8)


def _draw_object(
    canvas: npt.NDArray[np.float32], track: ObjectTrack, factors: ClipFactors, colour: npt.NDArray[np.float32]
) -> None:
    """Composite one object over `canvas` ([T, H, W, 3] float32, modified in place)."""
    _, height, width, _ = canvas.shape
    # Only the box the object sweeps over the clip is touched: usually a small part of the frame.
    reach = _SHAPE_REACH * track.radius * track.scale
    x0, x1 = _span(track.cx - reach, track.cx + reach, width)
    y0, y1 = _span(track.cy - reach, track.cy + reach, height)
    if x0 >= x1 or y0 >= y1:
        return
    region = canvas[:, y0:y1, x0:x1]
    # Pixel centres relative to the object centre, broadcast rather than materialised: (T, 1, w) and (T, h, 1).
    dx = (np.arange(x0, x1, dtype=np.float32) + 0.5)[None, None, :] - track.cx.astype(np.float32)[
        :, None, None
    ]
    dy = (np.arange(y0, y1, dtype=np.float32) + 0.5)[None, :, None] - track.cy.astype(np.float32)[
        :, None, None
    ]
    inverse_radius = (1.0 / (track.radius * track.scale)).astype(np.float32)[:, None, None]
    cos = np.cos(track.angle).astype(np.float32)[:, None, None] * inverse_radius
    sin = np.sin(track.angle).astype(np.float32)[:, None, None] * inverse_radius
    u = dx * cos + dy * sin  # (T, h, w), in object radii, rotated with the object
    v = dy * cos - dx * sin
    mask = shape_mask(factors.shape, u, v)
    brightness = surface_brightness(factors.texture, u, v)
    opacity = mask * track.alpha.astype(np.float32)[:, None, None]  # (T, h, w)
    paint = brightness[..., None] * colour  # (T, h, w, 3)
    region += opacity[..., None] * (paint - region)


def _span(low: npt.NDArray[np.float64], high: npt.NDArray[np.float64], length: int) -> tuple[int, int]:
    """The integer pixel range [start, stop) covering every frame's [low, high], clipped to the frame."""
    return max(int(np.floor(low.min())), 0), min(int(np.ceil(high.max())) + 1, length)
