"""FastAPI dependencies: the settings and the service, from the application's state (override
them with ``app.dependency_overrides`` in tests). ``async`` so they run without a thread hop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

from interestlens.config import Settings

if TYPE_CHECKING:
    from interestlens.serve.service import Service


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_service(request: Request) -> Service:
    return request.app.state.service
