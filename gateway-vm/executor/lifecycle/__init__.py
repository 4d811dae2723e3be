"""Positions through the day: whole-spread exits, pin risk, orphans, assignment repair, MTM, breaker, commands.

Modules (each small, each testable over in-memory fakes):
    settings    LifecycleSettings (SPREADPILOT_* env vars)
    ports       what the lifecycle needs from a broker and from Firestore (Protocols + value types)
    book        pure reading of broker positions: spreads, orphans, stock, time value, pin risk
    closer      whole-spread combo closes (marketable limit → market), single-leg closes, exercises
    monitor     the 60 s pass: assignment first, then orphans, time-value exits and the 15:55 pin-risk close
    assignment  NONE → ASSIGNED → COMPENSATED: exercise the long leg or flatten the stock
    mtm         30 s broker P&L → pnl_snapshots (throttled), feeding the daily-loss breaker
    breaker     daily-loss breaker per follower
    commands    the ``commands`` topic: pause/resume, two-step flatten, close follower, reconcile
    service     starts and stops the loops with the executor
"""
