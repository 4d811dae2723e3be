"""SpreadPilot's shared package: models, envelopes, clock, calendar, store, publisher, secrets, settings, logging.

No business flow lives here; functions and the executor compose these pieces.
"""
