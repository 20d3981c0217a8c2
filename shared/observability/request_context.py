"""What is known of the request being served, wherever code runs inside it: its id, who made it,
and its trace. Read by the log processors (observability.py) and by error bodies (http/errors.py).

Context variables of our own rather than structlog's contextvars helpers: those walk every
context variable in the process's context (asyncpg, httpx, ... have many) on each bind, clear
and log line.
"""

from contextvars import ContextVar

from opentelemetry import trace

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
# Who made it, once the bearer guard knows: a staff id, never a name or a token.
staff_id_var: ContextVar[int | None] = ContextVar("staff_id", default=None)
# What the request did, said on its access line: one line per request, not one more per write.
done_var: ContextVar[dict[str, object] | None] = ContextVar("done", default=None)


def note_done(**facts: object) -> None:
    """Facts for the request's access line (ids and outcomes, never what a user typed)."""
    done = done_var.get()
    if done is not None:
        done.update(facts)


def current_trace_id() -> str | None:
    """The current trace's id (32 hex digits), for log lines and error bodies: present when the
    request has a span (tracing on, sampled or not), None otherwise."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
