"""`python -m stack.function_host`: serve one Cloud Function locally in a single process, without forking.

functions-framework's own CLI runs gunicorn, which imports the function in the master and then forks a worker; a
function that opens gRPC clients at import (Firestore, Pub/Sub, Secret Manager) can then crash the worker at boot
(``epoll_wait error: Bad file descriptor``) and gunicorn exits. Here the same ``functions_framework.create_app``
app (same decoding of CloudEvents and Pub/Sub push envelopes, same 500-on-exception) is served by a threaded
werkzeug server in this very process, so the pid the stack holds is the server.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

import functions_framework
from werkzeug.serving import run_simple


def main(argv: list[str] | None = None) -> None:
    """Same options as ``functions-framework``: --source, --target, --signature-type, --host, --port."""
    parser = argparse.ArgumentParser(prog="python -m stack.function_host")
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--signature-type", default="http", choices=["http", "event", "cloudevent", "typed"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = functions_framework.create_app(args.target, args.source, args.signature_type)  # type: ignore[no-untyped-call]  # the library is untyped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False, use_debugger=False)


if __name__ == "__main__":
    main()
