"""Toxiproxy: a typed HTTP client with timeouts, and the local server's lifecycle."""

from chaos.infra.toxiproxy.client import Proxy, Toxic, ToxiproxyClient, ToxiproxyError

__all__ = ["Proxy", "Toxic", "ToxiproxyClient", "ToxiproxyError"]
