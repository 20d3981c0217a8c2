import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def test_categories_by_name_with_film_counts(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    rows = (
        await db.execute(
            text(
                "SELECT c.category_id, c.name, count(fc.film_id) FROM category c"
                " LEFT JOIN film_category fc USING (category_id)"
                " GROUP BY c.category_id, c.name ORDER BY c.name"
            )
        )
    ).all()

    response = await client.get("/categories")

    assert response.status_code == 200
    assert response.json() == [
        {"category_id": cid, "name": name, "films": films} for cid, name, films in rows
    ]
    assert len(rows) == 16
