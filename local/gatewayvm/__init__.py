"""The gateway VM on one machine: the real supervisor (``supervisor``) with IB Gateway containers played by
``python -m ibsim`` processes (``gatewayvm.runtime``), for the local stack, the demo and the tests.

``python -m gatewayvm --vm local --state DIR`` runs it until SIGTERM, as the gateway VM's service account
(``LOCAL_IDENTITY``) against the stack's Firestore, Pub/Sub and Secret Manager.
"""
