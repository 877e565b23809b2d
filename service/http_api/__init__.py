"""The REST front door: a thin FastAPI adapter over the shared `ServiceContext`."""

from service.http_api.app import create_app

__all__ = ["create_app"]
