"""What an engine returns for each job at each station."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Visits:
    """Times of jobs at stations, each ``[n_jobs, m]``.

    ``entry``: the job enters the station (takes a server); ``end``: its work is done;
    ``departure``: it leaves the station; ``server``: which server it used;
    ``repair``: working time the server spent under operating-time repair during the
    visit (0 for other failure bases). A job reworked at a station holds its last
    visit there; NaN where it never came (scrapped upstream).
    """

    entry: np.ndarray
    end: np.ndarray
    departure: np.ndarray
    server: np.ndarray
    repair: np.ndarray

    @classmethod
    def empty(cls, n: int, m: int) -> Visits:
        """Visits to fill in; NaN where a job never comes (it was scrapped before)."""
        return cls(
            entry=np.full((n, m), np.nan),
            end=np.full((n, m), np.nan),
            departure=np.full((n, m), np.nan),
            server=np.zeros((n, m), dtype=np.int64),
            repair=np.zeros((n, m)),
        )

    @classmethod
    def scratch(cls, n: int, m: int) -> Visits:
        """Visits for a kernel to overwrite whole (the max-plus path writes every job
        at every station): not filled in first."""
        return cls(
            entry=np.empty((n, m)),
            end=np.empty((n, m)),
            departure=np.empty((n, m)),
            server=np.empty((n, m), dtype=np.int64),
            repair=np.empty((n, m)),
        )

    @property
    def n(self) -> int:
        return int(self.entry.shape[0])

    def __getitem__(self, rows: slice) -> Visits:
        return Visits(
            self.entry[rows],
            self.end[rows],
            self.departure[rows],
            self.server[rows],
            self.repair[rows],
        )
