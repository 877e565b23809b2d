"""Request and response bodies of the admin routes (`/v1/admin/*`, `admin` scope)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LoadModelRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "lvt", "path": "/models/videoprism-lvt-base", "default": False}]
        },
    )
    name: str = Field(description="Name requests will select the model by (letters, digits, '.', '_', '-').")
    path: str = Field(description="Bundle directory on the server's filesystem.")
    default: bool = Field(default=False, description="Make it the model requests without `model` get.")


class ReloadModelRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{}, {"path": "/models/videoprism-lvt-base-v2"}]}
    )
    path: str | None = Field(
        default=None, description="A new bundle directory; unset: the same one, re-read."
    )


class SyncResponse(BaseModel):
    """What re-reading the configured bundle list changed (the same as SIGHUP)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"loaded": ["lvt"], "reloaded": ["base"], "unchanged": [], "failed": {}}]
        }
    )
    loaded: list[str] = Field(description="Entries new in the list, now served.")
    reloaded: list[str] = Field(description="Entries whose bundle changed, swapped to the new engine.")
    unchanged: list[str]
    failed: dict[str, str] = Field(description="Entries that failed to load, with why; they serve as before.")


class UnloadResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"unloaded": "lvt", "served": ["base"]}]})
    unloaded: str
    served: list[str] = Field(description="The models served now.")
