"""Colours that stay apart for readers with a colour-vision deficiency, and the check that says so.

A palette is only as good as its closest pair of colours. ``simulate_cvd`` shows a colour as
a reader with protanopia, deuteranopia or tritanopia sees it, with the matrices of Machado,
Oliveira and Fernandes (2009, severity 1.0) applied to linear sRGB; ``palette_distances``
then measures every pair in CIELAB (CIE 1976 Delta E*ab, where about 2.3 is just noticeable).
The figures' letter colours are checked this way by the tests, and every figure carries a
second cue besides colour (a label on each patch), so no reader depends on colour alone.

    simulate_cvd("#ddaa33", "deuteranopia")        -> the sRGB colour a deuteranope sees
    palette_distances(colours, "protanopia")       -> {(i, j): Delta E} for every pair
    closest_pair(colours)                          -> (Delta E, i, j, vision): the worst case
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from matplotlib.colors import to_rgb

__all__ = ["VISIONS", "ELEMENT_COLORS", "LIGHT_BACKGROUND", "simulate_cvd", "to_lab", "palette_distances",
           "closest_pair"]

# Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of color
# vision deficiency", IEEE TVCG 15(6); severity 1.0 (dichromacy), acting on linear sRGB.
_MACHADO = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
VISIONS = ("normal", *_MACHADO)

# linear sRGB -> CIE XYZ (D65), and the D65 white point
_SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                         [0.2126729, 0.7151522, 0.0721750],
                         [0.0193339, 0.1191920, 0.9503041]])
_WHITE = _SRGB_TO_XYZ @ np.ones(3)


def _to_linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _to_srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def _rgb_array(colours) -> np.ndarray:
    if isinstance(colours, np.ndarray):
        return colours.astype(float)
    if isinstance(colours, str) or (len(colours) in (3, 4) and all(isinstance(c, (int, float)) for c in colours)):
        return np.array(to_rgb(colours))
    return np.array([to_rgb(c) for c in colours])


def simulate_cvd(colours, vision: str) -> np.ndarray:
    """The sRGB colour(s) in [0, 1] that a reader with ``vision`` sees for ``colours``.

    ``colours`` is one matplotlib colour ('#ddaa33', (0.1, 0.2, 0.3)) or a list of them;
    ``vision`` is 'normal', 'protanopia', 'deuteranopia' or 'tritanopia'. The dichromat's
    linear RGB is M c, with M the Machado et al. (2009) matrix of severity 1.0.
    """
    if vision not in VISIONS:
        raise ValueError(f"unknown vision {vision!r}: expected one of {', '.join(VISIONS)}")
    rgb = _rgb_array(colours)
    if vision == "normal":
        return rgb
    return _to_srgb(_to_linear(rgb) @ _MACHADO[vision].T)


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (L*, a*, b*) of sRGB colours in [0, 1], shape (..., 3), D65 white."""
    xyz = _to_linear(np.asarray(rgb, dtype=float)) @ _SRGB_TO_XYZ.T / _WHITE
    delta = 6 / 29
    f = np.where(xyz > delta**3, np.cbrt(xyz), xyz / (3 * delta**2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def palette_distances(colours, vision: str = "normal") -> dict[tuple[int, int], float]:
    """{(i, j): Delta E*ab between colours i and j as seen with ``vision``}, for every pair i < j."""
    lab = to_lab(simulate_cvd(colours, vision))
    return {(i, j): float(np.linalg.norm(lab[i] - lab[j])) for i, j in combinations(range(len(lab)), 2)}


def closest_pair(colours, visions=VISIONS) -> tuple[float, int, int, str]:
    """The closest pair of ``colours`` over all ``visions``: (Delta E, i, j, vision)."""
    return min((distance, i, j, vision) for vision in visions
               for (i, j), distance in palette_distances(colours, vision).items())


# One colour per element of D4 in index order (e, r, r^2, r^3, m, mr, mr^2, mr^3): every pair,
# and each against the light background LIGHT_BACKGROUND, at least 20 Delta E*ab apart in all
# four visions above, and far from the red and blue of the Cayley graph's edges.
ELEMENT_COLORS = ("#e1be6a", "#fe6100", "#88ccee", "#785ef0", "#882255", "#666633", "#332288", "#000000")
LIGHT_BACKGROUND = "#f2f2f2"
