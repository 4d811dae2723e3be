"""Run the local issuer, and optionally the web app beside it, until stopped.

    python -m identity --port 9099 --project spreadpilot-local \\
        [--web-port 8080 --web-dir web --api-base-url http://127.0.0.1:PORT]

With ``--web-port`` the static web app is served too, its ``config.json`` pointing at ``--api-base-url`` (the admin
API function) and at this issuer's sign-in endpoint. Serve the admin API with ``SPREADPILOT_AUTH_CERT_URL`` set to
the certificate URL printed here and ``SPREADPILOT_WEB_BASE_URL`` set to the web app's URL (its CORS origin).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import threading
from pathlib import Path

from iamcheck.accounts import OWNER
from iamcheck.grants import policy_for
from identity.server import DEFAULT_USERS, LOCAL_PASSWORD, Issuer, IssuerServer, parse_users
from identity.webserve import WebConfig, WebServer

log = logging.getLogger("identity")


def main() -> None:
    parser = argparse.ArgumentParser(prog="identity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9099, help="issuer port")
    parser.add_argument("--project", default=os.environ.get("GOOGLE_CLOUD_PROJECT", "spreadpilot-local"))
    parser.add_argument("--users", default="", help="email:role:password,... (role '-' = none); default: local users")
    parser.add_argument("--web-port", type=int, default=0, help="also serve the web app on this port")
    parser.add_argument("--web-dir", type=Path, default=Path("web"))
    parser.add_argument("--api-base-url", default="", help="the admin API's base URL (for the web app's config)")
    parser.add_argument("--terraform", type=Path, default=Path("terraform"),
                        help="whose iam.tf grants the admin API (operators' accounts) is checked against")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    users = parse_users(args.users) if args.users else DEFAULT_USERS
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    policy = policy_for(args.terraform, args.project, [OWNER])
    with IssuerServer(Issuer(args.project, users, policy=policy), args.host, args.port) as issuer:
        log.info("issuer: %s  (certificates: %s)", issuer.base_url, issuer.cert_url)
        log.info("users: %s  (password %s)", ", ".join(f"{u.email} [{u.role or 'no role'}]" for u in users)
                 if not args.users else "as given", LOCAL_PASSWORD if not args.users else "as given")
        if args.web_port:
            config = WebConfig(args.api_base_url, issuer.sign_in_url, args.project, issuer.emulator_url,
                               os.environ.get("FIRESTORE_EMULATOR_HOST", ""))
            with WebServer(args.web_dir, config, args.host, args.web_port) as web:
                log.info("web app: %s", web.base_url)
                _wait(stop)
        else:
            _wait(stop)


def _wait(stop: threading.Event) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()


if __name__ == "__main__":
    main()
