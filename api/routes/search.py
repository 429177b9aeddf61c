"""POST /v1/search: ranked passages with their sentences and offsets."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import DeskDep
from api.schemas import HitOut, SearchIn, SearchOut

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", response_model=SearchOut)
def search(body: SearchIn, desk: DeskDep) -> SearchOut:
    hits = desk.search(body.question, body.k, body.filters.to_filters(), body.index)
    return SearchOut(hits=[HitOut(**h.to_json()) for h in hits])
