"""FastAPI dependencies: the settings and the service, read from the application's state
(``create_app`` stores the settings, the lifespan the started service). Override them with
``app.dependency_overrides`` in tests. ``async`` because they only read an attribute: no thread
hop on the hot path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from interestlens.config import Settings
from interestlens.serve.service import Service


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_service(request: Request) -> Service:
    return request.app.state.service


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[Service, Depends(get_service)]
