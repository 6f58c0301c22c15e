"""The one base of every input model: unknown fields are errors, values are frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Base of every pydantic model a user writes (scenario, line file, sections)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
