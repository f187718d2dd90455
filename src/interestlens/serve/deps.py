"""FastAPI dependencies: the settings and the service, read from the application's state
(``create_app`` stores the settings, the lifespan the started service). Override them with
``app.dependency_overrides`` in tests. ``async`` because they only read an attribute: no thread
hop on the hot path (a worker of several checks the shared events store, see
:meth:`Service.follow_log`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from interestlens.config import Settings
from interestlens.serve.service import Service


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    # one of several workers: apply what the others stored first (one cheap check when nothing
    # changed; the replay itself runs off the event loop)
    if service.follows_log and service.log_changed():
        await run_in_threadpool(service.follow_log)
    return service


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[Service, Depends(get_service)]
