"""``python -m identity --port P --project ID [--users email:role:password,...]``: run the local issuer."""

from __future__ import annotations

import argparse
import logging
import os

from identity.server import DEFAULT_USERS, Issuer, IssuerServer, parse_users


def main() -> None:
    parser = argparse.ArgumentParser(prog="identity", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9099)
    parser.add_argument("--project", default=os.environ.get("GOOGLE_CLOUD_PROJECT", "spreadpilot-local"))
    parser.add_argument("--users", default="", help="email:role:password,... (role '-' = none); default: local users")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    users = parse_users(args.users) if args.users else DEFAULT_USERS
    server = IssuerServer(Issuer(args.project, users), args.host, args.port)
    logging.getLogger("identity").info("issuer on %s (certs %s)", server.base_url, server.cert_url)
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
