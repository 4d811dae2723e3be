"""A deterministic fault simulator for the executor (``make simulate``, ``python -m faultsim``).

The real ``executor.engine.Engine`` and the real Firestore store code run on a virtual-time event loop
(``vloop``) over in-memory stand-ins for Firestore (``firestore``), IB Gateway (``gateway``, ``session``,
``broker``) and Pub/Sub (``pubsub``). Each seed builds one trading day (``world``), plans 1–4 faults
(``faults``, struck by ``board``), runs one or more executor processes through it (``processes``, ``run``) and
checks the invariants on what the broker and the store hold at the end (``evidence``, ``invariants``).
The same seed gives the same run, byte for byte (with ``PYTHONHASHSEED=0``).
"""
