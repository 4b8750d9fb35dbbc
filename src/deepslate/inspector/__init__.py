"""The web inspector: a dashboard and a JSON API over a store's isolates (DESIGN §5).

``spawn_inspector(platform, "localhost:8080")`` serves it beside a running engine;
``deepslate inspector STORE --addr HOST:PORT`` serves it for a store from the command line.
"""
from .actions import Actions, EngineActions, StoreRequestActions
from .server import Inspector, spawn_inspector

__all__ = ["Actions", "EngineActions", "Inspector", "StoreRequestActions", "spawn_inspector"]
