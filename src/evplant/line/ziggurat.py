"""Processing times drawn in compiled code: a counter-based ziggurat normal.

Processing times are most of a run's random numbers (one per job and station), and
NumPy's generators, called per station and variant on a chunk, spent as long drawing
them as the recursion spent using them. Here they are drawn in one compiled pass,
each a pure function of (the stream of station ``i`` and variant ``q``, the job's
number ``n`` within that variant), like the failure draws in ``draws``: the counters
``64 n ... 64 n + 63`` of the stream belong to draw ``n``. A run split into chunks,
or resumed, draws exactly the same numbers.

Lognormal times use Marsaglia and Tsang's ziggurat ("The ziggurat method for
generating random variables", J. Stat. Softw. 5(8), 2000) with 256 layers, the layout
NumPy uses: one 64-bit word gives the layer (8 bits), the sign (1 bit) and the
abscissa (52 bits); 99% of draws end there, and the rest take the wedge test or
Marsaglia's tail method. Every other family goes through ``draws.draw``.
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import inline, kernel
from .distributions import DETERMINISTIC, LOGNORMAL
from .draws import _GOLDEN, _mix, draw, uniform01

__all__ = ["processing_times", "standard_normal"]

_LAYERS = 256
_R = 3.6541528853610088  # right edge of the base layer for 256 layers
_V = 0.00492867323399  # area of each layer


def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layer edges ``x[k]`` (widths, decreasing to 0), the density at them and the
    share of each layer that lies wholly under the curve, in units of 2^-52."""
    x = np.zeros(_LAYERS + 1)
    x[0] = _V / math.exp(-0.5 * _R * _R)  # the base layer holds the tail: wider
    x[1] = _R
    for k in range(1, _LAYERS - 1):
        x[k + 1] = math.sqrt(-2.0 * math.log(_V / x[k] + math.exp(-0.5 * x[k] * x[k])))
    x[_LAYERS] = 0.0
    f = np.exp(-0.5 * x * x)
    inner = np.floor(x[1:] / x[:-1] * 2.0**52).astype(np.uint64)
    return x, f, inner


_X, _F, _INNER = _tables()
_WIDTH = _X[:-1] / 2.0**52  # abscissa per unit of the 52-bit integer
_M52 = np.uint64((1 << 52) - 1)
_M8 = np.uint64(0xFF)


@inline
def standard_normal(key: np.uint64, base: np.uint64) -> float:
    """A standard normal draw from counters ``base, base + 1, ...`` of stream ``key``
    (64 at most; one in 99% of draws)."""
    c = base
    last = base + np.uint64(62)
    x = 0.0
    while c < last:
        word = _mix(key + c * _GOLDEN)
        c += np.uint64(1)
        k = int(word & _M8)
        negative = (word >> np.uint64(8)) & np.uint64(1)
        bits = (word >> np.uint64(9)) & _M52
        x = float(np.int64(bits)) * _WIDTH[k]  # via int64: bits < 2^52, and faster
        if bits < _INNER[k]:
            return -x if negative else x
        if k == 0:
            # the tail beyond R (Marsaglia 1964): two uniforms per try
            while c < last:
                xx = -math.log(uniform01(key, c)) / _R
                yy = -math.log(uniform01(key, c + np.uint64(1)))
                c += np.uint64(2)
                if yy + yy > xx * xx:
                    return -(_R + xx) if negative else _R + xx
            break
        # the wedge between the layer's inner rectangle and the curve
        y = _F[k] + (_F[k + 1] - _F[k]) * uniform01(key, c)
        c += np.uint64(1)
        if y < math.exp(-0.5 * x * x):
            return -x if negative else x
    # 62 rejections in a row: probability below 1e-120; the last abscissa stands
    return x


@kernel
def processing_times(
    variants: np.ndarray,
    codes: np.ndarray,
    keys: np.ndarray,
    counts: np.ndarray,
    table: np.ndarray,
    log_only: bool,
    out: np.ndarray,
) -> None:
    """Fill ``out[j, i]`` with the time of job ``j`` at station ``i``.

    ``variants[j]``: the job's variant; ``codes[i, q]``: ``Dist.encode()`` of station
    ``i``'s time for variant ``q``; ``keys[i, q]``: its stream; ``counts[q]``: jobs of
    variant ``q`` drawn before this call (advanced here). With ``log_only`` (every
    code lognormal) the logarithms of the times are written, for the caller to take
    ``exp`` of the whole array at once: NumPy's vectorised ``exp`` is a fifth of the
    scalar one's cost.
    """
    n, m = out.shape
    for j in range(n):
        q = variants[j]
        base = np.uint64(counts[q]) * np.uint64(64)
        for i in range(m):
            fam = int(codes[i, q, 0])
            if fam == LOGNORMAL:
                log_t = codes[i, q, 1] + codes[i, q, 2] * standard_normal(keys[i, q], base)
                out[j, i] = log_t if log_only else math.exp(log_t)
            elif fam == DETERMINISTIC:
                out[j, i] = codes[i, q, 1]
            else:
                out[j, i] = draw(keys[i, q], counts[q], codes[i, q], table)
        counts[q] += 1
