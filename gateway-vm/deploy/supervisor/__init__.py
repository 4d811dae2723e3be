"""The gateway VM's supervisor: one IB Gateway container per ``gateways/{id}`` document assigned to this VM.

Every pass (``Supervisor.reconcile``) it reads the VM's gateway documents, starts the missing containers with their
login from Secret Manager (``gateway-login-<id>``), restarts one whose login changed, stops those whose document is
gone, observes each (IBC's log and a TWS API handshake) and writes the state to ``gateways/{id}.status``; it reports
the VM's capacity in ``gateway_vms/{name}`` and refuses gateways beyond it. State changes are alerts: a Sunday (or
post-restart) 2FA wait asks the operator, and a follower whose own gateway waits, to approve it on IBKR Mobile.

Modules:
    settings    SupervisorSettings (environment, read once in ``__main__``)
    observe     IBC's log markers and a handshake → the gateway's state (pure)
    files       the per-gateway files the ``ib-gateway@`` and probe units read (pure)
    runtime     ``ContainerRuntime`` and its production implementation over systemd and Docker
    capacity    gateways per VM from its memory
    supervisor  the reconcile pass, its Firestore writes and its alerts
"""
