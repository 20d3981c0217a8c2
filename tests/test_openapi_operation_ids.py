"""Operation ids are `<tag>-<handler>`: what a generated client calls each operation. They are
checked against this list, so that renaming one is a decision (a client's method changes)."""

from fastapi import FastAPI

OPERATION_IDS = {
    ("GET", "/films"): "films-list_films",
    ("GET", "/films/{film_id}"): "films-get_film",
    ("PATCH", "/films/{film_id}"): "films-patch_film",
    ("GET", "/films/{film_id}/availability"): "films-get_availability",
    ("POST", "/customers/{customer_id}/rentals"): "rentals-create_rental",
    ("GET", "/customers/{customer_id}/rentals"): "rentals-list_customer_rentals",
    ("PUT", "/rentals/{rental_id}/return"): "rentals-return_rental",
    ("GET", "/rentals/{rental_id}"): "rentals-get_rental",
    ("POST", "/customers/{customer_id}/subscriptions"): "subscriptions-create_subscription",
    ("GET", "/customers/{customer_id}/subscriptions"): "subscriptions-list_customer_subscriptions",
    ("GET", "/subscriptions/{subscription_id}"): "subscriptions-get_subscription",
    ("PUT", "/subscriptions/{subscription_id}/end"): "subscriptions-end_subscription",
    ("GET", "/categories"): "films-list_categories",
    ("GET", "/health"): "health-health",
    ("GET", "/ready"): "health-ready",
    ("POST", "/token"): "auth-issue_token",
    ("GET", "/ai/ask"): "ai-ask",
    ("POST", "/ai/ask"): "ai-ask_in_conversation",
    ("POST", "/ai/summary"): "ai-film_summary",
    ("POST", "/ai/handoff"): "ai-handoff",
    ("GET", "/problems"): "problems-list_problems",
    ("GET", "/problems/{slug}"): "problems-get_problem",
}


def test_operation_ids_are_tag_and_handler_unique_and_as_listed(app: FastAPI) -> None:
    spec = app.openapi()
    ids = {
        (method.upper(), path): operation["operationId"]
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    }

    assert ids == OPERATION_IDS
    assert len(set(ids.values())) == len(ids)
