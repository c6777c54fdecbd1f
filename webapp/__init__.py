"""The web process: Quart app (pages + JSON API + streams) with a raw-ASGI ingest path."""

from webapp.app import create_app

__all__ = ["create_app"]
