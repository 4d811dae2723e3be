"""SpreadPilot's admin API: followers, controls and read-only views behind Firebase ID-token auth.

Layers: ``main.py`` (functions-framework entry) → ``routes.AdminApi.handle`` (CORS, auth, routing, errors) →
``followers`` / ``controls`` / ``views`` (one use case per route) → ``spreadpilot`` adapters (Firestore store,
Pub/Sub publisher, Secret Manager).
"""
