"""Positions through the day: whole-spread exits, pin risk, orphans, assignment repair, MTM, breaker, commands.

Modules (each small; the rules are pure functions, the loops run over Protocols with in-memory fakes in tests):
    settings    LifecycleSettings (SPREADPILOT_* env vars, one Field description each)
    ports       what the lifecycle needs from a broker and from Firestore (Protocols + value types)
    store       the Firestore adapter of ``ports.LifecycleStore`` (the documents it writes are listed there)
    context     the executor's shared parts (gateways, intent book, alerts, clock, stop) as the lifecycle uses them
    holdings    pure reading of broker positions: spreads, orphans, stock, time value, pin risk
    closer      closing orders: a whole spread as ONE combo (marketable limit → market), one leg, the stock
    monitor     the ``monitor_s`` pass: assignment first, then orphans, pin risk and time-value exits; flatten
    assignment  NONE → ASSIGNED → COMPENSATED: exercise the long leg or flatten the stock
    mtm         ``mtm_s`` broker P&L → pnl_snapshots (throttled), feeding the breaker
    breaker     the daily-loss breaker per follower
    commands    the ``commands`` topic: pause/resume, two-step flatten, close follower, reconcile
    subscriber  the commands subscription (streaming pull handed to the event loop)
    service     ``Lifecycle``: started after ``Engine.start`` and stopped before ``Engine.shutdown``
"""
