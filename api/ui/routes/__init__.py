"""The console's routes, one module per page group, under /ui (and /docs)."""

from fastapi import APIRouter

from api.ui.routes import approvals, batches, docs, overview, reports, runs, schedules, signin

__all__ = ["router"]

router = APIRouter()
router.include_router(docs.router)
for _module in (signin, overview, runs, approvals, schedules, batches, reports):
    router.include_router(_module.router, prefix="/ui")
