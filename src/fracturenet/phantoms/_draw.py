"""Procedural drawing of one radiograph-like long-bone phantom (private helper of ``generator``).

Everything is drawn in pixel units in the bone's own frame: ``u`` runs along the shaft, ``v``
across it. A long bone is a hollow cylinder (bright cortical shell, darker medullary cavity)
whose projected density is the chord length through the shell, flaring into rounded ends with
a thin cortex and trabecular filling. A fracture pattern edits that density (gaps, displaced
fragments, a dense band) and reports the pixels it touched as the fracture mask. Only NumPy and
Pillow are used, and every random draw comes from the ``numpy.random.Generator`` passed in, in
a fixed order, so the same generator state always gives the same image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = ["FRACTURE_KINDS", "draw_phantom"]

_Pattern = Callable[[np.ndarray, np.ndarray, "_Bone", np.random.Generator], tuple]


@dataclass(frozen=True)
class _Bone:
    """Bone geometry in pixels: shaft radius ``r0``, end radius ``re``, half-length ``half``."""

    r0: float
    re: float
    half: float
    cap: float
    cortex: float

    def radius(self, u: np.ndarray) -> np.ndarray:
        au = np.abs(u)
        t = np.clip((au - 0.55 * self.half) / (0.45 * self.half), 0.0, 1.0)
        flare = t * t * (3.0 - 2.0 * t)
        r = self.r0 + (self.re - self.r0) * flare
        cap = self.re * np.sqrt(np.clip(1.0 - ((au - self.half) / self.cap) ** 2, 0.0, 1.0))
        return np.where(au > self.half, cap, r)

    def density(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Projected density, about 1 on the shaft's cortical lines and 0 outside the bone."""
        au = np.abs(u)
        t = np.clip((au - 0.55 * self.half) / (0.45 * self.half), 0.0, 1.0)
        flare = np.where(au > self.half, 1.0, t * t * (3.0 - 2.0 * t))
        r = self.radius(u)
        thick = self.cortex * (1.0 - flare) + 0.14 * self.re * flare
        inner = np.maximum(r - thick, 0.0)
        marrow = 0.1 * (1.0 - flare) + 0.3 * flare
        dens = _chord(v, r) - _chord(v, inner) + marrow * _chord(v, inner)
        return dens / _chord(np.float64(self.r0 - self.cortex), np.float64(self.r0))


def _chord(v: np.ndarray, r: np.ndarray) -> np.ndarray:
    return 2.0 * np.sqrt(np.clip(r * r - v * v, 0.0, None))


def _line(d: np.ndarray, half_width: float) -> np.ndarray:
    """Anti-aliased coverage (0..1) of a band of ``half_width`` px around ``d == 0``."""
    return np.clip(half_width - np.abs(d) + 0.5, 0.0, 1.0)


def _rotate(u: np.ndarray, v: np.ndarray, deg: float, pu: float = 0.0, pv: float = 0.0):
    a = np.deg2rad(deg)
    du, dv = u - pu, v - pv
    return pu + du * np.cos(a) - dv * np.sin(a), pv + du * np.sin(a) + dv * np.cos(a)


def _near_bone(u: np.ndarray, v: np.ndarray, bone: _Bone, extra: float) -> np.ndarray:
    return np.abs(v) < bone.radius(u) + extra


def _margin(bone: _Bone) -> float:
    return max(1.5, 0.3 * bone.r0)


def _no_fracture(u, v, bone, rng):
    return bone.density(u, v), np.zeros(u.shape, dtype=bool)


def _cut(u, v, bone, rng, angle_deg, gap, shift_v, slide, tilt):
    """Two fragments split by a straight cut through ``(u0, 0)``; the distal one displaced."""
    u0 = rng.uniform(-0.45, 0.45) * bone.half
    a = np.deg2rad(angle_deg)
    d = (u - u0) * np.cos(a) - v * np.sin(a)  # signed distance to the cut line
    ud, vd = _rotate(u - slide * np.cos(a), v - shift_v - slide * np.sin(a), tilt, u0, 0.0)
    dens = np.where(d > 0, bone.density(ud, vd), bone.density(u, v))
    dens = dens * (1.0 - _line(d, gap))
    m = _margin(bone)
    mask = (_line(d, gap + m) > 0) & _near_bone(u, v, bone, abs(shift_v) + m)
    return dens, mask


def _transverse(u, v, bone, rng):
    angle = rng.uniform(-8.0, 8.0)
    gap = 0.5 + bone.r0 * rng.uniform(0.12, 0.22)
    shift = bone.r0 * rng.uniform(0.3, 0.6) * rng.choice([-1.0, 1.0])
    return _cut(u, v, bone, rng, angle, gap, shift, 0.0, rng.uniform(-5.0, 5.0))


def _oblique(u, v, bone, rng):
    angle = rng.uniform(30.0, 60.0) * rng.choice([-1.0, 1.0])
    gap = 0.5 + bone.r0 * rng.uniform(0.1, 0.18)
    slide = -bone.r0 * rng.uniform(0.2, 0.5)  # the fragments ride along the cut: shortening
    return _cut(u, v, bone, rng, angle, gap, bone.r0 * rng.uniform(-0.15, 0.15), slide, 0.0)


def _hairline(u, v, bone, rng):
    u0 = rng.uniform(-0.45, 0.45) * bone.half
    a = np.deg2rad(rng.uniform(-15.0, 15.0))
    wave = 0.08 * bone.r0 * np.sin(v / bone.r0 * rng.uniform(2.0, 4.0) + rng.uniform(0, 6.3))
    d = (u - u0) * np.cos(a) - v * np.sin(a) + wave
    reach = rng.uniform(0.8, 1.0)  # fraction of the width the crack crosses
    side = rng.choice([-1.0, 1.0])
    across = np.clip((reach * 2.0 * bone.r0 - (bone.r0 - side * v)) / 1.0 + 0.5, 0.0, 1.0)
    line = _line(d, max(0.5, 0.08 * bone.r0)) * across
    dens = bone.density(u, v) * (1.0 - rng.uniform(0.7, 0.9) * line)
    m = _margin(bone)
    mask = (_line(d, m) > 0) & _near_bone(u, v, bone, m) & (across > 0)
    return dens, mask


def _spiral(u, v, bone, rng):
    """A helix on the shaft surface, projected: strong front half, fainter back half."""
    u0 = rng.uniform(-0.3, 0.3) * bone.half
    pitch = bone.r0 * rng.uniform(3.5, 5.0) * rng.choice([-1.0, 1.0])
    phi = np.linspace(-0.5 * np.pi, 1.5 * np.pi, 41)
    pts_u = u0 + pitch * phi / (2.0 * np.pi)
    pts_v = bone.r0 * np.sin(phi)
    # Distance to the projected helix (a polyline), only near it to keep this cheap.
    near = (u > pts_u.min() - 2 * bone.r0) & (u < pts_u.max() + 2 * bone.r0)
    near &= np.abs(v) < 2 * bone.r0
    du = u[near][:, None] - pts_u[:-1]
    dv = v[near][:, None] - pts_v[:-1]
    su, sv = np.diff(pts_u), np.diff(pts_v)
    t = np.clip((du * su + dv * sv) / (su * su + sv * sv), 0.0, 1.0)
    dist2 = (du - t * su) ** 2 + (dv - t * sv) ** 2
    nearest = np.argmin(dist2, axis=-1)
    dist = np.full(u.shape, np.inf)
    dist[near] = np.sqrt(np.take_along_axis(dist2, nearest[:, None], -1)[:, 0])
    front = np.zeros(u.shape, dtype=bool)
    front[near] = nearest < 20
    gap = 0.5 + bone.r0 * rng.uniform(0.1, 0.16)
    depth = np.where(front, 0.9, 0.5)
    tw = rng.uniform(-3.0, 3.0)
    ud, vd = _rotate(u, v, tw, u0, 0.0)
    distal = (u - u0) > pitch * 0.25 if pitch > 0 else (u - u0) < pitch * 0.25
    dens = np.where(distal, bone.density(ud, vd), bone.density(u, v))
    dens = dens * (1.0 - depth * _line(dist, gap))
    m = _margin(bone)
    mask = (dist < gap + m) & _near_bone(u, v, bone, m)
    return dens, mask


def _comminuted(u, v, bone, rng):
    """A zone of several displaced fragments between two oblique cuts."""
    u0 = rng.uniform(-0.35, 0.35) * bone.half
    span = bone.r0 * rng.uniform(1.3, 1.9)
    a1, a2 = np.deg2rad(rng.uniform(-30.0, 30.0, size=2))
    d1 = (u - (u0 - span)) * np.cos(a1) - v * np.sin(a1)
    d2 = (u - (u0 + span)) * np.cos(a2) - v * np.sin(a2)
    k = int(rng.integers(3, 6))
    seeds_u = u0 + rng.uniform(-0.8, 0.8, size=k) * span
    seeds_v = rng.uniform(-0.9, 0.9, size=k) * bone.r0
    dist = np.sqrt((u[..., None] - seeds_u) ** 2 + (v[..., None] - seeds_v) ** 2)
    order = np.sort(dist, axis=-1)
    frag = np.argmin(dist, axis=-1)
    inside = (d1 > 0) & (d2 < 0)
    dens = bone.density(u, v)
    shifts = rng.uniform(-0.45, 0.45, size=(k, 2)) * bone.r0
    turns = rng.uniform(-15.0, 15.0, size=k)
    for i in range(k):
        fu, fv = _rotate(u - shifts[i, 0], v - shifts[i, 1], turns[i], seeds_u[i], seeds_v[i])
        dens = np.where(inside & (frag == i), bone.density(fu, fv), dens)
    dist_shift = bone.r0 * rng.uniform(0.15, 0.4) * rng.choice([-1.0, 1.0])
    du_, dv_ = _rotate(u, v - dist_shift, rng.uniform(-6.0, 6.0), u0 + span, 0.0)
    dens = np.where(d2 >= 0, bone.density(du_, dv_), dens)
    gap = 0.5 + bone.r0 * rng.uniform(0.08, 0.14)
    cracks = np.maximum(_line(d1, gap), _line(d2, gap))
    cracks = np.maximum(cracks, inside * _line(order[..., 1] - order[..., 0], gap))
    dens = dens * (1.0 - 0.9 * cracks)
    m = _margin(bone)
    zone = (d1 > -gap - m) & (d2 < gap + m)
    return dens, zone & _near_bone(u, v, bone, abs(dist_shift) + m)


def _greenstick(u, v, bone, rng):
    """The shaft bent at ``u0``: the tension cortex cracks open, the other one only bends."""
    u0 = rng.uniform(-0.4, 0.4) * bone.half
    side = rng.choice([-1.0, 1.0])  # the cracked (tension) side
    bend = rng.uniform(12.0, 20.0) * side * -1.0
    pv = -side * bone.r0  # pivot on the intact cortex
    ud, vd = _rotate(u, v, -bend, u0, pv)
    distal = ud > u0
    dens = np.where(u <= u0, bone.density(u, v), 0.0)
    dens = np.where(distal & (u > u0), bone.density(ud, vd), dens)
    overlap = distal & (u <= u0)
    dens = np.where(overlap, np.maximum(dens, bone.density(ud, vd)), dens)
    crack_len = rng.uniform(0.9, 1.4) * bone.r0
    reach = np.clip(crack_len - (bone.r0 - side * v) + 0.5, 0.0, 1.0)
    dens = dens * (1.0 - 0.9 * _line(u - u0, 0.5 + 0.1 * bone.r0) * reach)
    m = _margin(bone)
    mask = (np.abs(u - u0) < m + 0.5 * bone.r0) & _near_bone(u, v, bone, m)
    return dens, mask


def _avulsion(u, v, bone, rng):
    """A small piece of one condyle pulled off and away from the bone end."""
    end = rng.choice([-1.0, 1.0])
    side = rng.choice([-1.0, 1.0])
    fu = end * (bone.half + rng.uniform(0.0, 0.45) * bone.cap)
    fv = side * float(bone.radius(np.float64(fu)))
    rho = bone.re * rng.uniform(0.45, 0.6)
    base = bone.density(u, v)
    piece = ((u - fu) ** 2 + (v - fv) ** 2 < rho**2) & (base > 0)
    pull = rho * rng.uniform(0.7, 1.1) + 1.5
    ang = rng.uniform(0.2, 0.9)
    su, sv = end * pull * np.sin(ang), side * pull * np.cos(ang)
    moved_u, moved_v = _rotate(u - su, v - sv, rng.uniform(-25.0, 25.0), fu, fv)
    moved = ((moved_u - fu) ** 2 + (moved_v - fv) ** 2 < rho**2) & (
        bone.density(moved_u, moved_v) > 0
    )
    frag = 1.25 * np.maximum(bone.density(moved_u, moved_v), 0.35)
    dens = np.where(piece, 0.0, base)
    dens = np.where(moved & ~piece, frag, dens)
    m = _margin(bone)
    near = ((u - fu) ** 2 + (v - fv) ** 2 < (rho + m) ** 2) | (
        (u - fu - su) ** 2 + (v - fv - sv) ** 2 < (rho + m) ** 2
    )
    return dens, near


def _impacted(u, v, bone, rng):
    """The fragments telescoped into each other: a dense, slightly widened band; a shorter shaft."""
    u0 = rng.uniform(-0.4, 0.4) * bone.half
    width = bone.r0 * rng.uniform(0.5, 0.8)
    rough = 0.12 * bone.r0 * np.sin(v / bone.r0 * rng.uniform(3.0, 6.0) + rng.uniform(0, 6.3))
    shorten = width * rng.uniform(0.6, 1.0)
    lo, hi = u0 - width / 2 + rough, u0 + width / 2 - rough
    bulge = rng.uniform(1.1, 1.2)
    band = (u > lo) & (u < hi)
    dens = np.where(u >= hi, bone.density(u + shorten, v), 0.0)
    dens = np.where(u <= lo, bone.density(u, v), dens)
    dens = np.where(band, rng.uniform(1.5, 1.9) * bone.density(u, v / bulge), dens)
    m = _margin(bone)
    mask = (u > lo - m) & (u < hi + m) & _near_bone(u, v, bone, bone.r0 * (bulge - 1.0) + m)
    return dens, mask


FRACTURE_KINDS: dict[str, _Pattern] = {
    "avulsion": _avulsion,
    "comminuted": _comminuted,
    "greenstick": _greenstick,
    "hairline": _hairline,
    "impacted": _impacted,
    "oblique": _oblique,
    "spiral": _spiral,
    "transverse": _transverse,
    "normal": _no_fracture,
}


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    rad = int(np.ceil(3.0 * sigma))
    if rad < 1:
        return img
    x = np.arange(-rad, rad + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    k /= k.sum()
    h, w = img.shape
    p = np.pad(img, rad, mode="edge")
    rows = sum(k[i] * p[:, i : i + w] for i in range(2 * rad + 1))
    return sum(k[i] * rows[i : i + h, :] for i in range(2 * rad + 1))


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    coarse = rng.normal(size=(cells, cells)).astype(np.float32)
    field = Image.fromarray(coarse, mode="F").resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(field, dtype=np.float64)


def draw_phantom(kind: str, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draws one phantom of fracture ``kind`` (a key of :data:`FRACTURE_KINDS`).

    The scene (pose, anatomy), the fracture and the look (contrast, blur, noise) come from
    three independent streams seeded by ``rng``, so for one ``rng`` state every kind draws the
    same bone in the same pose with the same noise, broken differently.

    Returns:
        ``(image, mask)``: uint8 grayscale ``(size, size)`` and bool ``(size, size)``.
    """
    scene, broken, look = (np.random.default_rng(s) for s in rng.integers(0, 2**63, size=3))
    # Pose, scale and anatomy, drawn relative to the image size (same seed -> same scene).
    theta = np.deg2rad(scene.uniform(-30.0, 30.0))
    flip_u, flip_v = scene.choice([-1.0, 1.0], size=2)
    cx, cy = size * (0.5 + scene.uniform(-0.06, 0.06, size=2))
    r0 = size * scene.uniform(0.065, 0.085)
    re = r0 * scene.uniform(1.35, 1.6)
    bone = _Bone(
        r0=r0,
        re=re,
        half=size * scene.uniform(0.26, 0.31),
        cap=0.8 * re,
        cortex=r0 * scene.uniform(0.22, 0.32),
    )
    tissue_w = r0 * scene.uniform(2.5, 3.6)
    tissue_off = r0 * scene.uniform(-0.6, 0.6)
    companion = scene.uniform() < 0.35
    comp_off = scene.choice([-1.0, 1.0]) * (r0 * scene.uniform(2.3, 2.7))
    comp_scale = scene.uniform(0.55, 0.75)

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    dx, dy = xx - cx, yy - cy
    u = flip_u * (dx * np.sin(theta) + dy * np.cos(theta))
    v = flip_v * (dx * np.cos(theta) - dy * np.sin(theta))

    dens, mask = FRACTURE_KINDS[kind](u, v, bone, broken)
    if companion:
        other = _Bone(
            r0=r0 * comp_scale,
            re=re * comp_scale,
            half=bone.half * 1.02,
            cap=bone.cap * comp_scale,
            cortex=bone.cortex * comp_scale,
        )
        dens = np.maximum(dens, other.density(u, v - comp_off))

    # Radiograph look: dark background, soft tissue, bright bone; contrast, blur and noise.
    tv = (v - tissue_off) / tissue_w
    tissue = np.sqrt(np.clip(1.0 - tv * tv, 0.0, 1.0)) ** 0.6
    background = look.uniform(0.0, 0.08) + 0.03 * _smooth_noise(look, size, 5)
    img = background + look.uniform(0.12, 0.28) * tissue * (1 + 0.15 * _smooth_noise(look, size, 6))
    img = img + look.uniform(0.4, 0.6) * np.clip(dens, 0.0, 1.6)
    img = _blur(img, look.uniform(0.3, 0.8) * size / 128.0)
    img = np.clip(img, 0.0, None) ** look.uniform(0.75, 1.3)
    img = img + look.normal(0.0, look.uniform(0.01, 0.035), size=img.shape)
    image = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    return image, mask
