"""Shape masks and surface textures, evaluated in an object's own coordinates.

`u, v` are float32 [T, H, W] pixel positions in the object's frame: rotated with it and divided by its
radius, so the object spans about [-1, 1]^2 whatever its size, position or orientation. Masks are hard
(no anti-aliasing): at 64x64 it is the cheapest way to keep the renderer above 200 clips/s per core.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from training.data.synthetic.vocabulary import Shape, Texture

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]

_TRIANGLE_NORMALS = [(float(np.cos(a)), float(np.sin(a))) for a in np.deg2rad([90.0, 210.0, 330.0])]


def shape_mask(shape: Shape, u: FloatArray, v: FloatArray) -> BoolArray:
    """Pixels covered by `shape`: bool [T, H, W]."""
    if shape is Shape.SQUARE:
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8
    if shape is Shape.DISC:
        return u * u + v * v <= 1.0
    if shape is Shape.RING:
        r2 = u * u + v * v
        return (r2 <= 1.0) & (r2 >= 0.36)
    if shape is Shape.TRIANGLE:
        # Three half-planes at distance 0.5 from the centre: an equilateral triangle inscribed in the unit disc.
        inside = np.ones(u.shape, dtype=bool)
        for nx, ny in _TRIANGLE_NORMALS:
            inside &= u * nx + v * ny <= 0.5
        return inside
    if shape is Shape.CROSS:
        au, av = np.abs(u), np.abs(v)
        return ((au <= 0.3) & (av <= 0.95)) | ((av <= 0.3) & (au <= 0.95))
    if shape is Shape.STAR:
        # Five points: the radius limit falls linearly from 1 at a tip to 0.45 halfway between two tips.
        turns = (np.arctan2(v, u) * (5.0 / (2.0 * np.pi))) % 1.0
        to_tip = np.minimum(turns, 1.0 - turns)
        limit = 1.0 - 1.1 * to_tip
        return u * u + v * v <= limit * limit
    if shape is Shape.SEMICIRCLE:
        # Shifted down by 0.4 so the half-disc's centre of mass sits near the object's centre.
        w = v - 0.4
        return (u * u + w * w <= 1.0) & (w <= 0.0)
    if shape is Shape.BAR:
        return (np.abs(u) <= 1.0) & (np.abs(v) <= 0.35)
    raise ValueError(f"unknown shape {shape!r}")


def surface_brightness(texture: Texture, u: FloatArray, v: FloatArray) -> FloatArray:
    """Brightness multiplier in (0, 1] over the object: float32 [T, H, W].

    Every texture carries a gradient along the object's own u axis (as if lit from one side): without it a
    plain disc or ring would look identical at every angle and rotation would be invisible.
    """
    light = 0.78 + 0.22 * np.clip(u, -1.0, 1.0)
    if texture is Texture.STRIPED:
        stripe = np.floor(u * 3.0).astype(np.int32) & 1
        return light * (1.0 - 0.45 * stripe.astype(np.float32))
    if texture is Texture.DOTTED:
        fu = (u * 2.5) % 1.0 - 0.5
        fv = (v * 2.5) % 1.0 - 0.5
        dot = fu * fu + fv * fv <= 0.06
        return light * np.where(dot, np.float32(0.45), np.float32(1.0))
    if texture is Texture.PLAIN:
        return light
    raise ValueError(f"unknown texture {texture!r}")
