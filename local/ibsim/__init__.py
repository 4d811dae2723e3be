"""An IB Gateway simulator that speaks the TWS API wire protocol (server version 176).

The real, unmodified ``ib_async`` (and ``ib_insync`` 0.9.86) client connects to it. Layers, bottom up:
``protocol`` (framing, field formatting) → ``wire`` / ``wire_orders`` (outgoing field tables) and ``requests``
(incoming parsers) → ``contracts``, ``pricing``, ``market`` (what is listed and what it is worth) → ``accounts``,
``orders``, ``fills`` (broker state) → ``broker`` (the use cases) → ``session`` / ``server`` (one connection / the
listening socket) → ``control`` (HTTP and in-process control) → ``__main__`` (the command line).
"""

from ibsim.config import SimConfig

__all__ = ["SimConfig"]
