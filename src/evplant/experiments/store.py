"""A Monte Carlo run's folder: its manifest and its finished replications, in chunks.

::

    OUT/manifest.json                      what run this is (scenario, seed, R, parameters)
    OUT/chunks/chunk-000000-000007.parquet replications 0..7 (one file per finished batch)
    OUT/replications.csv, summary.json, report.html   written when all R are done

Every file is written to a temporary name beside it and renamed into place, so a crash
or Ctrl-C never leaves a half-written chunk: a chunk is there complete, or not at all
(its replications then run again on ``--resume``). Temporary files left by a killed
process start with a dot, are never read, and are removed on resume.

A chunk's columns: ``replication`` (int64), ``param.<path>`` (the drawn values),
``kpi.<name>`` (float64) and ``monthly.<name>`` (a list of float64, one per month).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import atomic
from ..errors import EvplantError
from .replicate import Batch

FORMAT = "evplant-mc/1"
MANIFEST = "manifest.json"
CHUNKS = "chunks"
_CHUNK = re.compile(r"chunk-(\d+)-(\d+)\.parquet")


def digest(data: Any) -> str:
    """A fingerprint of the scenario's data (after overrides), to refuse foreign resumes."""
    text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Manifest:
    scenario: str
    source: str
    overrides: list[str]
    scenario_sha256: str
    seed: int
    replications: int
    batch_size: int
    parameters: list[dict[str, Any]]
    kpis: list[str]
    monthly: list[str]
    months: list[str]
    evplant: str
    format: str = FORMAT
    notes: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(**raw)
        except (json.JSONDecodeError, TypeError) as exc:
            raise EvplantError(
                f"not a Monte Carlo manifest this version can read ({exc})", file=str(path)
            ) from None

    def differences(self, other: Manifest) -> list[str]:
        """Why a run with ``other``'s settings cannot continue this one (empty: it can)."""
        out = []
        if self.format != other.format:
            out.append(f"format {self.format} vs {other.format}")
        if self.seed != other.seed:
            out.append(f"seed {self.seed} vs {other.seed}")
        if self.parameters != other.parameters:
            mine = [p["path"] for p in self.parameters]
            theirs = [p["path"] for p in other.parameters]
            detail = f"{mine} vs {theirs}" if mine != theirs else "their laws or ranges differ"
            out.append(f"uncertain parameters: {detail}")
        if self.scenario_sha256 != other.scenario_sha256:
            out.append(
                f"the scenario's values ({self.source} with --set {self.overrides} vs "
                f"{other.source} with --set {other.overrides})"
            )
        if self.months != other.months:
            out.append(f"horizon {self.months[0]}..{self.months[-1]} vs "
                       f"{other.months[0]}..{other.months[-1]}")
        if (self.kpis, self.monthly) != (other.kpis, other.monthly):
            out.append("the KPI columns (another evplant version?)")
        return out


class Store:
    def __init__(self, out_dir: str | Path) -> None:
        self.out = Path(out_dir)
        self.chunks = self.out / CHUNKS
        self.manifest_path = self.out / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def open(self, manifest: Manifest, resume: bool) -> Manifest:
        """Start a run (or, with ``resume``, continue the one here); return its manifest."""
        if self.exists():
            if not resume:
                raise EvplantError(
                    "this folder already holds a Monte Carlo run; add --resume to continue "
                    "it, or choose another --out",
                    file=str(self.out),
                )
            old = Manifest.read(self.manifest_path)
            diff = old.differences(manifest)
            if diff:
                raise EvplantError(
                    "refusing to resume a different run: " + "; ".join(diff), file=str(self.out)
                )
            manifest.batch_size = old.batch_size
            self.clean()
        elif self.chunks.exists() and any(self.chunks.glob("chunk-*.parquet")):
            raise EvplantError(
                "chunk files without a manifest.json; choose another --out", file=str(self.out)
            )
        self.chunks.mkdir(parents=True, exist_ok=True)
        atomic.write_text(self.manifest_path, manifest.to_json())
        return manifest

    def clean(self) -> None:
        """Remove temporary files a killed process left behind (never complete files)."""
        for folder in (self.out, self.chunks):
            if folder.is_dir():
                for tmp in folder.glob(".*.tmp"):
                    with contextlib.suppress(FileNotFoundError):
                        tmp.unlink()

    def chunk_files(self) -> list[Path]:
        if not self.chunks.is_dir():
            return []
        files = [p for p in self.chunks.iterdir() if _CHUNK.fullmatch(p.name)]
        return sorted(files, key=lambda p: tuple(int(g) for g in _CHUNK.fullmatch(p.name).groups()))  # type: ignore[union-attr]

    def done_ids(self) -> set[int]:
        done: set[int] = set()
        for path in self.chunk_files():
            ids = _read(path, ["replication"]).column("replication").to_numpy()
            done.update(int(i) for i in ids)
        return done

    def write(self, batch: Batch, manifest: Manifest) -> Path:
        """Write one finished batch as a chunk, atomically."""
        order = np.argsort(batch.ids, kind="stable")
        ids = batch.ids[order]
        cols: dict[str, pa.Array] = {"replication": pa.array(ids, pa.int64())}
        for j, p in enumerate(manifest.parameters):
            cols[f"param.{p['path']}"] = pa.array(batch.values[order, j], pa.float64())
        for j, name in enumerate(manifest.kpis):
            cols[f"kpi.{name}"] = pa.array(batch.kpis[order, j], pa.float64())
        m = len(manifest.months)
        for name in manifest.monthly:
            flat = pa.array(np.ascontiguousarray(batch.paths[name][order]).ravel(), pa.float64())
            cols[f"monthly.{name}"] = pa.FixedSizeListArray.from_arrays(flat, m)
        target = self.chunks / f"chunk-{int(ids[0]):06d}-{int(ids[-1]):06d}.parquet"
        with atomic.atomic_path(target) as tmp:
            pq.write_table(pa.table(cols), tmp)
        return target

    def read(self, manifest: Manifest, replications: int) -> Batch:
        """Replications 0..R-1 from the chunks, sorted by id (each id once)."""
        tables = [_read(p) for p in self.chunk_files()]
        if not tables:
            raise EvplantError("no finished replications", file=str(self.out))
        table = pa.concat_tables(tables)
        ids = table.column("replication").to_numpy()
        order = np.argsort(ids, kind="stable")
        ids = ids[order]
        keep = np.ones(len(ids), dtype=bool)
        keep[1:] = ids[1:] != ids[:-1]  # a replication found twice is the same; keep one
        keep &= ids < replications
        rows = order[keep]
        ids = ids[keep]
        missing = sorted(set(range(replications)) - {int(i) for i in ids})
        if missing:
            raise EvplantError(
                f"{len(missing)} of {replications} replications are not finished "
                f"(first: {missing[:5]}); run again with --resume",
                file=str(self.out),
            )

        def col(name: str) -> np.ndarray:
            return np.asarray(table.column(name).to_numpy(), dtype=np.float64)[rows]

        values = np.column_stack(
            [col(f"param.{p['path']}") for p in manifest.parameters]
        ) if manifest.parameters else np.empty((len(ids), 0))
        kpis = np.column_stack([col(f"kpi.{k}") for k in manifest.kpis])
        m = len(manifest.months)
        paths = {}
        for name in manifest.monthly:
            arr = table.column(f"monthly.{name}").combine_chunks()
            flat = np.asarray(arr.flatten().to_numpy(), dtype=np.float64)
            paths[name] = flat.reshape(-1, m)[rows]
        return Batch(ids.astype(np.int64), values, kpis, paths)


def _read(path: Path, columns: list[str] | None = None) -> pa.Table:
    try:
        return pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowInvalid) as exc:
        raise EvplantError(
            f"cannot read this chunk ({exc}); delete it and run again with --resume "
            "(its replications will run again)",
            file=str(path),
        ) from None
