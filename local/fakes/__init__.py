"""Stand-ins for Google Secret Manager, Google Sheets, SendGrid and Telegram, run by the local stack.

Each is a real server (`python -m fakes.<name> --host 127.0.0.1 --port P`) that the official client library
talks to, plus a small control API under ``/_control`` for tests and the demo.

``fakes.fault_proxy.FaultProxy`` is the exception: an in-process TCP forwarder (own thread and loop) put in front of
one real server, e.g. the Firestore emulator for the executor alone, to give that one client an outage.
"""
