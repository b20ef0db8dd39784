"""near_duplicate_pairs against a brute-force reference: thresholds and block offsets."""

from __future__ import annotations

import numpy as np
import pytest

from fracturenet.data.duplicates import HISTOGRAM_OVERLAP, near_duplicate_pairs


def _hex(bits: np.ndarray) -> str:
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def _flip(bits: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    out = bits.copy()
    out[rng.choice(len(bits), n, replace=False)] ^= 1
    return out


def _reference(ph, dh, near_threshold=6):
    """The documented rule, pair by pair (no histograms)."""

    def dist(a: str, b: str) -> int:
        return bin(int(a, 16) ^ int(b, 16)).count("1")

    out = []
    for i in range(len(ph)):
        for j in range(i + 1, len(ph)):
            dp, dd = dist(ph[i], ph[j]), dist(dh[i], dh[j])
            if dp <= near_threshold or (dp <= 2 * near_threshold and dd <= near_threshold + 3):
                out.append((i, j, dp, dd))
    return out


@pytest.mark.parametrize("near_threshold", [0, 3, 6])
def test_thresholds_are_inclusive_at_every_boundary(near_threshold):
    # Pairs at distance exactly t, t + 1, 2t, 2t + 1 in pHash and t + 3, t + 4 in dHash: an
    # off-by-one in either threshold moves one of them across the line.
    rng = np.random.default_rng(near_threshold)
    t = near_threshold
    base_p, base_d = rng.integers(0, 2, 64), rng.integers(0, 2, 64)
    far_d = 20  # far enough in dHash that only the pHash rule can pair
    cases = {  # (pHash distance, dHash distance): paired?
        (t, far_d): True,
        (t + 1, far_d): False,
        (2 * t, t + 3): True,
        (2 * t, t + 4): t == 0,  # at t = 0 the pHash rule alone pairs them
        (2 * t + 1, t + 3): False,
    }
    for (dp, dd), expected in cases.items():
        ph = [_hex(base_p), _hex(_flip(base_p, dp, rng))]
        dh = [_hex(base_d), _hex(_flip(base_d, dd, rng))]
        got = near_duplicate_pairs(ph, dh, near_threshold=t)
        assert got == ([(0, 1, dp, dd)] if expected else []), (t, dp, dd)


def test_histogram_overlap_threshold_is_inclusive():
    ph = [_hex(np.zeros(64)), _hex(np.r_[np.ones(8), np.zeros(56)])]  # distance 8: loose band
    dh = [_hex(np.zeros(64))] * 2
    a = np.r_[1.0, np.zeros(15)]
    b = np.r_[HISTOGRAM_OVERLAP, 1 - HISTOGRAM_OVERLAP, np.zeros(14)]  # overlap exactly 0.7
    assert near_duplicate_pairs(ph, dh, [a, b]) == [(0, 1, 8, 0)]
    c = np.r_[HISTOGRAM_OVERLAP - 0.01, 1.01 - HISTOGRAM_OVERLAP, np.zeros(14)]
    assert near_duplicate_pairs(ph, dh, [a, c]) == []


@pytest.mark.parametrize("block", [256, 7, 1000])
def test_matches_brute_force_past_one_block(block):
    # 600 hashes: 300 originals and a near copy of each (pHash 0-9 bits away, dHash 0-12).
    # A block-offset error only shows past the first block (256 rows by default).
    rng = np.random.default_rng(0)
    ph, dh = [], []
    for _ in range(300):
        p, d = rng.integers(0, 2, 64), rng.integers(0, 2, 64)
        ph += [_hex(p), _hex(_flip(p, int(rng.integers(0, 10)), rng))]
        dh += [_hex(d), _hex(_flip(d, int(rng.integers(0, 13)), rng))]
    order = rng.permutation(600)  # copies far apart, across blocks
    ph, dh = [ph[i] for i in order], [dh[i] for i in order]
    got = near_duplicate_pairs(ph, dh, block=block)
    expected = _reference(ph, dh)
    assert len(expected) > 200  # the reference really finds most copies
    assert sorted(got) == expected
    assert all(i < j for i, j, _, _ in got)  # no self-pairs, no mirrored pairs
