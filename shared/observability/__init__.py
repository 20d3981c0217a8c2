"""What the service tells its operators, one job per module:

- `logs`: structlog's configuration, and the middleware that gives each request its id and its
  one access line.
- `telemetry`: metrics (Prometheus) and traces (OTLP), on FastAPI's native OpenTelemetry.
- `request_context`: what is known of the request being served (its id, who made it, what it
  did), wherever code runs inside it.
"""
