"""Jobs for videos of any length: create (202), read, page the segments, cancel. A job belongs to the API
key that made it; every other key gets `job_not_found`."""

from __future__ import annotations

from typing import Annotated

import pybase64
from fastapi import APIRouter, Depends, Query

from service.auth.keys import principal_var
from service.core.types import VideoOptions
from service.errors import InvalidRequestError
from service.http_api.deps import ContextDep, documented_auth, encode_vector
from service.http_api.schemas import ERROR_RESPONSES, ErrorBody
from service.http_api.schemas_jobs import (
    CreateJobRequest,
    Encoding,
    JobOut,
    JobProgress,
    JobSegmentOut,
    JobSegmentsPage,
)
from service.jobs.models import JobRequest, JobState

router = APIRouter(tags=["jobs"], dependencies=[Depends(documented_auth)])

_MAX_PAGE = 1000


def _owner() -> str:
    principal = principal_var.get()
    return principal.key_id if principal is not None else "anonymous"


def _out(state: JobState, encoding: str = "float") -> JobOut:
    return JobOut(
        id=state.id,
        status=state.status.value,
        progress=JobProgress(segments_done=state.segments_done, segments_total=state.segments_total),
        created_at=state.created_at,
        error=ErrorBody(code=state.error.code, message=state.error.message) if state.error else None,
        embedding=encode_vector(state.embedding, encoding) if state.embedding is not None else None,
    )


@router.post(
    "/v1/jobs",
    status_code=202,
    response_model=JobOut,
    response_model_exclude_none=True,
    summary="Start embedding one video of any length in the background.",
    responses=ERROR_RESPONSES,
)
async def create_job(body: CreateJobRequest, ctx: ContextDep) -> JobOut:
    video = body.video
    if video.frames is not None or video.image is not None:
        raise InvalidRequestError(
            "jobs take a video `url` or `data`, not pre-decoded frames or an image (POST /v1/embed/video)"
        )
    data = None
    if video.data is not None:
        try:
            data = pybase64.b64decode(video.data, validate=True)
        except ValueError:
            raise InvalidRequestError("video.data is not valid base64") from None
    options = VideoOptions(
        start_s=body.clip.start if body.clip else None,
        end_s=body.clip.end if body.clip else None,
        segment_interval_s=body.segments.interval_seconds if body.segments else None,
    )
    request = JobRequest(url=video.url, data=data, options=options, callback_url=body.callback_url)
    state = await ctx.jobs.create(_owner(), request)
    return JobOut(id=state.id, status=state.status.value)


@router.get(
    "/v1/jobs/{job_id}",
    response_model=JobOut,
    response_model_exclude_none=True,
    summary="Status, progress and (once succeeded) the whole-video embedding of a job.",
    responses=ERROR_RESPONSES,
)
async def get_job(job_id: str, ctx: ContextDep, encoding: Encoding = "float") -> JobOut:
    return _out(await ctx.jobs.get(_owner(), job_id), encoding)


@router.get(
    "/v1/jobs/{job_id}/segments",
    response_model=JobSegmentsPage,
    summary="Page through the segments computed so far, in order.",
    responses=ERROR_RESPONSES,
)
async def job_segments(
    job_id: str,
    ctx: ContextDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=_MAX_PAGE)] = 100,
    encoding: Encoding = "float",
) -> JobSegmentsPage:
    state, segments = await ctx.jobs.segments(_owner(), job_id, offset, limit)
    data = [
        JobSegmentOut(
            index=s.index,
            start_seconds=s.start_s,
            end_seconds=s.end_s,
            embedding=encode_vector(s.embedding, encoding),
        )
        for s in segments
    ]
    end = offset + len(data)
    more = state.segments_total is None or end < state.segments_total
    return JobSegmentsPage(data=data, next_offset=end if more else None, status=state.status.value)


@router.delete(
    "/v1/jobs/{job_id}",
    response_model=JobOut,
    response_model_exclude_none=True,
    summary="Cancel a job; its decode stops within a second. Stored segments stay readable.",
    responses=ERROR_RESPONSES,
)
async def cancel_job(job_id: str, ctx: ContextDep) -> JobOut:
    return _out(await ctx.jobs.cancel(_owner(), job_id))
