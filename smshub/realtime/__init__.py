"""Realtime: committed events fan out to Server-Sent Event streams (ARCHITECTURE: Realtime)."""

from smshub.realtime.hub import Hub, InProcessHub, PostgresHub, Subscription, create_hub

__all__ = ["Hub", "InProcessHub", "PostgresHub", "Subscription", "create_hub"]
