"""The discrete factors of the synthetic world, their colours and the words captions may use for them.

Every factor is an `IntEnum`, so a factor value is also its label id. Word lists hold synonyms; no word or
phrase is shared between two values of one factor, so a caption names each factor value unambiguously.
"""

from __future__ import annotations

from enum import IntEnum


class Shape(IntEnum):
    SQUARE = 0
    DISC = 1
    TRIANGLE = 2
    CROSS = 3
    RING = 4
    STAR = 5
    SEMICIRCLE = 6
    BAR = 7


class Colour(IntEnum):
    RED = 0
    ORANGE = 1
    YELLOW = 2
    GREEN = 3
    CYAN = 4
    BLUE = 5
    PURPLE = 6
    WHITE = 7


class Size(IntEnum):
    SMALL = 0
    LARGE = 1


class Texture(IntEnum):
    PLAIN = 0
    STRIPED = 1
    DOTTED = 2


class Backdrop(IntEnum):
    PLAIN = 0
    STRIPED = 1
    CHECKERED = 2
    NOISE = 3


class BackdropColour(IntEnum):
    BLACK = 0
    CHARCOAL = 1
    SLATE = 2
    BROWN = 3


class Motion(IntEnum):
    """The motion-task classes: motion type x direction."""

    LEFT = 0
    RIGHT = 1
    UP = 2
    DOWN = 3
    CLOCKWISE = 4
    COUNTERCLOCKWISE = 5
    GROW = 6
    SHRINK = 7
    APPEAR = 8
    DISAPPEAR = 9
    APPROACH = 10
    SEPARATE = 11
    BOUNCE = 12
    PASS = 13


class Speed(IntEnum):
    SLOW = 0
    FAST = 1


# Each direction pair is one motion played backwards: rendered from the same latents, one clip is the
# other reversed in time, so both show the same set of frames and no single frame tells them apart.
REVERSED_MOTION: dict[Motion, Motion] = {
    Motion.LEFT: Motion.RIGHT,
    Motion.RIGHT: Motion.LEFT,
    Motion.UP: Motion.DOWN,
    Motion.DOWN: Motion.UP,
    Motion.CLOCKWISE: Motion.COUNTERCLOCKWISE,
    Motion.COUNTERCLOCKWISE: Motion.CLOCKWISE,
    Motion.GROW: Motion.SHRINK,
    Motion.SHRINK: Motion.GROW,
    Motion.APPEAR: Motion.DISAPPEAR,
    Motion.DISAPPEAR: Motion.APPEAR,
    Motion.APPROACH: Motion.SEPARATE,
    Motion.SEPARATE: Motion.APPROACH,
}

PAIR_MOTIONS: frozenset[Motion] = frozenset({Motion.APPROACH, Motion.SEPARATE, Motion.PASS})

NUM_APPEARANCE_CLASSES = len(Shape) * len(Colour)
NUM_MOTION_CLASSES = len(Motion)
NUM_COMBOS = NUM_APPEARANCE_CLASSES * NUM_MOTION_CLASSES

# Bright, saturated object colours, all far from the dim backdrops, so the object never blends in.
COLOUR_RGB: dict[Colour, tuple[float, float, float]] = {
    Colour.RED: (0.92, 0.12, 0.10),
    Colour.ORANGE: (1.00, 0.55, 0.05),
    Colour.YELLOW: (0.95, 0.90, 0.10),
    Colour.GREEN: (0.15, 0.80, 0.20),
    Colour.CYAN: (0.10, 0.85, 0.90),
    Colour.BLUE: (0.20, 0.35, 1.00),
    Colour.PURPLE: (0.65, 0.20, 0.90),
    Colour.WHITE: (0.97, 0.97, 0.97),
}

BACKDROP_RGB: dict[BackdropColour, tuple[float, float, float]] = {
    BackdropColour.BLACK: (0.04, 0.04, 0.04),
    BackdropColour.CHARCOAL: (0.20, 0.20, 0.20),
    BackdropColour.SLATE: (0.20, 0.24, 0.33),
    BackdropColour.BROWN: (0.28, 0.18, 0.10),
}

COLOUR_WORDS: dict[Colour, tuple[str, ...]] = {
    Colour.RED: ("red", "crimson"),
    Colour.ORANGE: ("orange",),
    Colour.YELLOW: ("yellow",),
    Colour.GREEN: ("green",),
    Colour.CYAN: ("cyan", "turquoise"),
    Colour.BLUE: ("blue",),
    Colour.PURPLE: ("purple", "violet"),
    Colour.WHITE: ("white",),
}

# (singular, plural) pairs; a pair motion shows two objects of the same kind.
SHAPE_WORDS: dict[Shape, tuple[tuple[str, str], ...]] = {
    Shape.SQUARE: (("square", "squares"), ("box", "boxes")),
    Shape.DISC: (("disc", "discs"), ("circle", "circles")),
    Shape.TRIANGLE: (("triangle", "triangles"),),
    Shape.CROSS: (("cross", "crosses"), ("plus sign", "plus signs")),
    Shape.RING: (("ring", "rings"), ("hoop", "hoops")),
    Shape.STAR: (("star", "stars"),),
    Shape.SEMICIRCLE: (("semicircle", "semicircles"), ("half moon", "half moons")),
    Shape.BAR: (("bar", "bars"), ("rod", "rods")),
}

SIZE_WORDS: dict[Size, tuple[str, ...]] = {
    Size.SMALL: ("small", "little", "tiny"),
    Size.LARGE: ("large", "big"),
}

# Adjectives before the colour; Texture.PLAIN has none because "plain" adds nothing a caption needs.
TEXTURE_WORDS: dict[Texture, tuple[str, ...]] = {
    Texture.PLAIN: (),
    Texture.STRIPED: ("striped",),
    Texture.DOTTED: ("dotted", "spotted"),
}

BACKDROP_WORDS: dict[Backdrop, tuple[str, ...]] = {
    Backdrop.PLAIN: ("plain",),
    Backdrop.STRIPED: ("striped",),
    Backdrop.CHECKERED: ("checkered", "checkerboard"),
    Backdrop.NOISE: ("noisy", "speckled"),
}

BACKDROP_COLOUR_WORDS: dict[BackdropColour, tuple[str, ...]] = {
    BackdropColour.BLACK: ("black",),
    BackdropColour.CHARCOAL: ("dark grey", "charcoal"),
    BackdropColour.SLATE: ("slate",),
    BackdropColour.BROWN: ("brown",),
}

# (present tense, gerund) pairs. Single-object verbs take a singular subject, pair verbs a plural one.
MOTION_PHRASES: dict[Motion, tuple[tuple[str, str], ...]] = {
    Motion.LEFT: (
        ("slides to the left", "sliding to the left"),
        ("moves left", "moving left"),
        ("drifts leftward", "drifting leftward"),
        ("travels to the left", "travelling to the left"),
    ),
    Motion.RIGHT: (
        ("slides to the right", "sliding to the right"),
        ("moves right", "moving right"),
        ("drifts rightward", "drifting rightward"),
        ("travels to the right", "travelling to the right"),
    ),
    Motion.UP: (
        ("moves upward", "moving upward"),
        ("rises", "rising"),
        ("slides up", "sliding up"),
        ("floats upward", "floating upward"),
    ),
    Motion.DOWN: (
        ("moves downward", "moving downward"),
        ("falls", "falling"),
        ("slides down", "sliding down"),
        ("sinks", "sinking"),
    ),
    Motion.CLOCKWISE: (
        ("spins clockwise", "spinning clockwise"),
        ("rotates clockwise", "rotating clockwise"),
        ("turns clockwise", "turning clockwise"),
    ),
    Motion.COUNTERCLOCKWISE: (
        ("spins counterclockwise", "spinning counterclockwise"),
        ("rotates anticlockwise", "rotating anticlockwise"),
        ("turns counterclockwise", "turning counterclockwise"),
    ),
    Motion.GROW: (
        ("grows", "growing"),
        ("gets bigger", "getting bigger"),
        ("expands", "expanding"),
    ),
    Motion.SHRINK: (
        ("shrinks", "shrinking"),
        ("gets smaller", "getting smaller"),
        ("contracts", "contracting"),
    ),
    Motion.APPEAR: (
        ("fades in", "fading in"),
        ("appears", "appearing"),
        ("materializes", "materializing"),
    ),
    Motion.DISAPPEAR: (
        ("fades out", "fading out"),
        ("disappears", "disappearing"),
        ("vanishes", "vanishing"),
    ),
    Motion.BOUNCE: (
        ("bounces", "bouncing"),
        ("bounces up and down", "bouncing up and down"),
        ("hops", "hopping"),
    ),
    Motion.APPROACH: (
        ("approach each other", "approaching each other"),
        ("move toward each other", "moving toward each other"),
        ("come together", "coming together"),
    ),
    Motion.SEPARATE: (
        ("move apart", "moving apart"),
        ("drift away from each other", "drifting away from each other"),
        ("separate", "separating"),
    ),
    Motion.PASS: (
        ("pass each other", "passing each other"),
        ("trade places", "trading places"),
        ("swap sides", "swapping sides"),
    ),
}

SPEED_WORDS: dict[Speed, tuple[str, ...]] = {
    Speed.SLOW: ("slowly", "gently", "gradually"),
    Speed.FAST: ("quickly", "rapidly", "swiftly"),
}
