"""Positions through the day: whole-spread exits, pin risk, orphans, assignment repair, MTM, breaker, commands.

Modules (each small; the rules are pure functions, the loops run over Protocols with in-memory fakes in tests):
    settings    LifecycleSettings (SPREADPILOT_* env vars, one Field description each)
    ports       what the lifecycle needs from a broker and from Firestore (Protocols + value types)
    store       the Firestore adapter of ``ports.LifecycleStore`` (the documents it writes are listed there)
    context     the executor's shared parts (gateways, intent book, alerts, clock, stop) as the lifecycle uses them
    holdings    pure reading of broker positions: spreads, orphans, stock, time value, pin risk
    closer      closing orders: a whole spread as ONE combo (marketable limit → market), one leg, the stock; keyed
                per (follower, position, trigger), one at a time per follower, never more than the broker holds
    monitor     the ``monitor_s`` pass: assignment first, then orphans, pin risk and time-value exits
    assignment  NONE → ASSIGNED → COMPENSATED: by moneyness, exercise the long leg (once) or sell the stock
    flatten     one follower's account made flat: its entries cancelled and waited for, its closes joined
    actions     operator actions as persisted intents driven part by part to done / partly done / failed
    operations  what each part of an action does (a kill switch, one follower's flatten, a reconciliation)
    mtm         ``mtm_s`` broker P&L → pnl_snapshots (throttled), feeding the breaker
    breaker     the daily-loss breaker per follower (a trip is an action, finished after a restart)
    foreign     foreign activity in a follower's account pauses its entries (an action, once a day, one alert)
    commands    the ``commands`` topic: pause/resume, two-step flatten, close follower, reconcile → actions
    subscriber  the commands subscription (streaming pull handed to the event loop)
    settlement  assignment, exercise and expiry events into the account ledger, and the broker's close and open
                readings for the daily reconciliation (its Firestore adapter: ``settlement_store``)
    service     ``Lifecycle``: started after ``Engine.start`` and stopped before ``Engine.shutdown``
"""
