"""Where each object is, and how it is turned, scaled and faded, at every frame of a clip.

Time runs over tau in [-0.5, 0.5] whatever the frame count, so a clip with more frames samples the same
motion more finely. A motion and its reverse (REVERSED_MOTION) differ only in the sign `s` in front of
tau and read their latents the same way, so from equal latents one renders as the other played backwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from training.data.synthetic.factors import ClipFactors
from training.data.synthetic.vocabulary import PAIR_MOTIONS, Motion, Size, Speed

FloatArray = npt.NDArray[np.float64]

NUM_LATENTS = 5  # uniforms in [0, 1) that place and time the motion; drawn the same way for every motion

_RADIUS_FRACTION = {Size.SMALL: 0.11, Size.LARGE: 0.18}
_PAIR_SHRINK = 0.75  # two objects must fit side by side without touching
_SPEED_GAIN = {Speed.SLOW: 1.0, Speed.FAST: 2.0}
_SIGN = {
    Motion.LEFT: -1.0,
    Motion.RIGHT: 1.0,
    Motion.UP: -1.0,
    Motion.DOWN: 1.0,
    Motion.CLOCKWISE: 1.0,  # y points down, so a growing angle turns clockwise on screen
    Motion.COUNTERCLOCKWISE: -1.0,
    Motion.GROW: 1.0,
    Motion.SHRINK: -1.0,
    Motion.APPEAR: 1.0,
    Motion.DISAPPEAR: -1.0,
    Motion.SEPARATE: 1.0,
    Motion.APPROACH: -1.0,
}


@dataclass(frozen=True)
class ObjectTrack:
    """One object over the clip; every array is float64 [T]. Positions and radius are in pixels."""

    cx: FloatArray
    cy: FloatArray
    angle: FloatArray  # radians
    scale: FloatArray  # multiplies `radius`
    alpha: FloatArray  # opacity in [0, 1]
    radius: float


def clip_times(num_frames: int) -> FloatArray:
    """tau per frame: float64 [T], exactly antisymmetric (tau[t] == -tau[T-1-t]) so reversal is exact."""
    if num_frames == 1:
        return np.zeros(1)
    steps = 2.0 * np.arange(num_frames, dtype=np.float64) - (num_frames - 1)  # integers, symmetric about 0
    times: FloatArray = steps / (2.0 * (num_frames - 1))
    return times


def _place(uniform: float, extent: float, travel: float, length: int) -> float:
    """A centre that keeps an object of half-size `extent` moving `travel` pixels inside [0, length)."""
    low = extent + travel / 2.0
    high = length - extent - travel / 2.0
    if high <= low:
        return length / 2.0
    return low + uniform * (high - low)


def object_tracks(
    factors: ClipFactors, latents: FloatArray, height: int, width: int, num_frames: int
) -> list[ObjectTrack]:
    """The tracks of the one or two objects of a clip. latents: float64 [NUM_LATENTS] in [0, 1)."""
    tau = clip_times(num_frames)
    zeros = np.zeros_like(tau)
    ones = np.ones_like(tau)
    side = min(height, width)
    motion = factors.motion
    gain = _SPEED_GAIN[factors.speed]
    radius = _RADIUS_FRACTION[factors.size] * side * (_PAIR_SHRINK if motion in PAIR_MOTIONS else 1.0)
    angle0 = 2.0 * np.pi * latents[2]
    sign = _SIGN.get(motion, 1.0)

    def single(
        cx: FloatArray,
        cy: FloatArray,
        angle: FloatArray = angle0 + zeros,
        scale: FloatArray = ones,
        alpha: FloatArray = ones,
    ) -> list[ObjectTrack]:
        return [ObjectTrack(cx=cx, cy=cy, angle=angle, scale=scale, alpha=alpha, radius=radius)]

    if motion in (Motion.LEFT, Motion.RIGHT):
        travel = 0.25 * width * gain
        cx = _place(latents[0], radius, travel, width) + sign * travel * tau
        return single(cx, _place(latents[1], radius, 0.0, height) + zeros)
    if motion in (Motion.UP, Motion.DOWN):
        travel = 0.25 * height * gain
        cy = _place(latents[1], radius, travel, height) + sign * travel * tau
        return single(_place(latents[0], radius, 0.0, width) + zeros, cy)
    cx_static = _place(latents[0], radius, 0.0, width) + zeros
    cy_static = _place(latents[1], radius, 0.0, height) + zeros
    if motion in (Motion.CLOCKWISE, Motion.COUNTERCLOCKWISE):
        return single(cx_static, cy_static, angle=angle0 + sign * (0.5 * np.pi * gain) * tau)
    if motion in (Motion.GROW, Motion.SHRINK):
        log_range = np.log(1.5) * gain
        extent = radius * np.exp(log_range / 2.0)
        cx = _place(latents[0], extent, 0.0, width) + zeros
        cy = _place(latents[1], extent, 0.0, height) + zeros
        return single(cx, cy, scale=np.exp(sign * log_range * tau))
    if motion in (Motion.APPEAR, Motion.DISAPPEAR):
        return single(cx_static, cy_static, alpha=np.clip(0.5 + sign * gain * tau, 0.0, 1.0))
    if motion is Motion.BOUNCE:
        height_of_hop = 0.3 * height
        floor = _place(latents[1], radius, height_of_hop, height) + height_of_hop / 2.0
        cy = floor - height_of_hop * np.abs(np.sin(np.pi * (gain * tau + latents[3])))
        return single(cx_static, cy)
    return _pair_tracks(motion, latents, tau, radius, gain, sign, angle0, height, width)


def _pair_tracks(
    motion: Motion,
    latents: FloatArray,
    tau: FloatArray,
    radius: float,
    gain: float,
    sign: float,
    angle0: float,
    height: int,
    width: int,
) -> list[ObjectTrack]:
    """Two objects along one axis (horizontal or vertical by latents[4]), mirrored about a centre."""
    vertical = latents[4] >= 0.5
    along_length, across_length = (height, width) if vertical else (width, height)
    if motion is Motion.PASS:
        travel = 0.3 * along_length * gain
        centre = _place(latents[0], radius, travel, along_length)
        offset = 1.1 * radius  # side by side across the axis, so they slide past rather than through
        across_centre = _place(latents[1], radius + offset, 0.0, across_length)
        along = (centre + travel * tau, centre - travel * tau)
        across_pair = (across_centre - offset + 0 * tau, across_centre + offset + 0 * tau)
    else:
        travel = 0.18 * along_length * gain
        min_gap = 2.2 * radius
        high = along_length - 2.0 * radius - travel / 2.0
        low = min_gap + travel / 2.0
        gap = low + latents[0] * max(high - low, 0.0) + sign * travel * tau
        middle = along_length / 2.0
        across = _place(latents[1], radius, 0.0, across_length) + 0 * tau
        along = (middle - gap / 2.0, middle + gap / 2.0)
        across_pair = (across, across)
    ones = np.ones_like(tau)
    tracks = []
    for a, c in zip(along, across_pair, strict=True):
        cx, cy = (c, a) if vertical else (a, c)
        tracks.append(
            ObjectTrack(cx=cx, cy=cy, angle=angle0 + 0 * tau, scale=ones, alpha=ones, radius=radius)
        )
    return tracks
