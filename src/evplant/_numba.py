"""The one numba decorator every kernel uses.

``cache=True`` so the second process starts without recompiling, the NumPy
error model so a division by zero gives inf/nan like NumPy instead of raising
from inside a hot loop, and ``nogil`` so Dask threads can run kernels side by
side.  Kernels are private; each is wrapped by a typed public function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])


def kernel(fn: F) -> F:
    """Compile ``fn`` in nopython mode with the project's fixed options."""
    return numba.njit(cache=True, error_model="numpy", nogil=True)(fn)  # type: ignore[return-value]


def inline(fn: F) -> F:
    """A small helper kernel that numba inlines into its callers."""
    return numba.njit(cache=True, error_model="numpy", nogil=True, inline="always")(fn)  # type: ignore[return-value]
