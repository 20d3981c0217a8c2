"""GET /problems/{slug}: what each error `type` means, so that a problem's type, dereferenced,
documents itself (RFC 9457)."""

from fastapi import APIRouter
from pydantic import BaseModel

from shared.http.errors import PROBLEMS, NotFoundError

router = APIRouter(tags=["problems"])


class ProblemType(BaseModel):
    type: str
    title: str
    status: int


def _described(slug: str) -> ProblemType:
    problem = PROBLEMS[slug]
    return ProblemType(type=problem.type, title=problem.title, status=problem.status)


@router.get("/problems", summary="Every kind of error this API answers, by `type`")
async def list_problems() -> list[ProblemType]:
    return [_described(slug) for slug in sorted(PROBLEMS)]


@router.get(
    "/problems/{slug}",
    summary="One kind of error: its title and status",
    responses=NotFoundError.response_doc("No such kind of error"),
)
async def get_problem(slug: str) -> ProblemType:
    if slug not in PROBLEMS:
        raise NotFoundError(f"No kind of error is called {slug!r}.")
    return _described(slug)
