"""Provisioning for development and first start: the embedded PostgreSQL, Pagila's download and
restore, migrations, and the local model server.

Used by `main.py`'s lifespan, `migrations/env.py` and the `python -m devenv` commands; never by
`features/` or `shared/` (what a request touches lives there).
"""
