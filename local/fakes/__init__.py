"""Stand-ins for Google Secret Manager, Google Sheets, SendGrid and Telegram, run by the local stack.

Each is a real server (`python -m fakes.<name> --host 127.0.0.1 --port P`) that the official client library
talks to, plus a small control API under ``/_control`` for tests and the demo.
"""
