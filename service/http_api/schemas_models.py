"""Model cards: what `GET /v1/models`, `GET /v1/models/{id}` and the admin routes answer about a served model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EncoderInfoOut(BaseModel):
    runtime: str = Field(description="tensorrt, onnxruntime or dummy.")
    provider: str
    reason: str = Field(description="Why this runtime was chosen.")
    warmed_batch_sizes: list[int]


class ModelCard(BaseModel):
    id: str = Field(description="The name requests select the model by (their `model` field).")
    object: Literal["model"] = "model"
    owned_by: str = "videoprism-service"
    model_name: str = Field(default="", description="The bundle manifest's model name.")
    default: bool = Field(default=True, description="Whether a request without `model` gets this one.")
    version: str
    bundle_id: str
    dim: int
    num_frames: int
    image_size: int
    resize_mode: str
    text_max_length: int | None
    video: EncoderInfoOut
    text: EncoderInfoOut | None


class ModelsResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "list",
                    "data": [
                        {
                            "id": "videoprism-demo",
                            "object": "model",
                            "owned_by": "videoprism-service",
                            "model_name": "videoprism-demo",
                            "default": True,
                            "version": "demo-1",
                            "bundle_id": "3f2a...",
                            "dim": 16,
                            "num_frames": 4,
                            "image_size": 16,
                            "resize_mode": "crop",
                            "text_max_length": 16,
                            "video": {
                                "runtime": "onnxruntime",
                                "provider": "CPUExecutionProvider",
                                "reason": "no GPU",
                                "warmed_batch_sizes": [1, 2],
                            },
                            "text": None,
                        }
                    ],
                }
            ]
        }
    )
    object: Literal["list"] = "list"
    data: list[ModelCard]
