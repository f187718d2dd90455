"""The endpoints, one router per area; :func:`~interestlens.serve.app.create_app` includes
them in this order (the order of the OpenAPI schema)."""

from fastapi import APIRouter

from interestlens.serve.routes import admin, health, interests, mutations, recommendations

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    recommendations.router,
    interests.router,
    mutations.router,
    admin.router,
)

__all__ = ["ROUTERS"]
