"""The local static server routes deep links into the SPA and tells it where the API is; fan-out arithmetic."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import requests

from admin_api.views import fan_out
from identity.webserve import WebConfig, WebServer

WEB = Path(__file__).resolve().parents[3] / "web"


def test_deep_links_get_the_app_and_config_names_the_api_and_sign_in() -> None:
    config = WebConfig("http://127.0.0.1:9000/", "http://127.0.0.1:9099/v1/accounts:signInWithPassword")
    with WebServer(WEB, config) as server:
        pages = [requests.get(server.base_url + path, timeout=5)
                 for path in ("/followers/f01", "/signals/20260317-QQQ-bull_put-1a2b3c4d", "/orders/entry-x-f01")]
        served = requests.get(server.base_url + "/config.json", timeout=5)
        module = requests.get(server.base_url + "/app.js", timeout=5)
        escape = requests.get(server.base_url + "/../pyproject.toml", timeout=5)
        missing = requests.get(server.base_url + "/nothing.js", timeout=5)

    assert all(p.status_code == 200 and '<main id="view">' in p.text for p in pages)
    assert json.loads(served.text) == {
        "apiBaseUrl": "http://127.0.0.1:9000", "signInUrl": "http://127.0.0.1:9099/v1/accounts:signInWithPassword",
        "firebase": {"apiKey": "local-web-api-key", "projectId": "spreadpilot-local",
                     "authDomain": "spreadpilot-local.firebaseapp.com"}, "emulators": {}}
    assert module.headers["Content-Type"].startswith("text/javascript")
    assert "[tool.ruff]" not in escape.text
    assert missing.status_code == 404


def test_fan_out_counts_entry_intents_by_state_and_final_ones_as_done() -> None:
    orders = [{"kind": "entry", "state": "filled"}, {"kind": "entry", "state": "working"},
              {"kind": "entry", "state": "skipped"}, {"kind": "exit", "state": "filled"}]
    assert fan_out(orders, enabled_followers=4) == {
        "followers": 4, "intents": 3, "by_state": {"filled": 1, "working": 1, "skipped": 1}, "done": 2}


def test_the_app_loads_nothing_from_a_cdn_and_serves_the_pinned_vendored_firebase_sdk() -> None:
    manifest = json.loads((WEB / "vendor" / "firebase" / "MANIFEST.json").read_text(encoding="utf-8"))
    pinned = json.loads((WEB / "vendor" / "package.json").read_text(encoding="utf-8"))["dependencies"]["firebase"]
    assert manifest["version"] == pinned
    for name, digest in manifest["sha256"].items():
        text = (WEB / "vendor" / "firebase" / name).read_text(encoding="utf-8")
        assert hashlib.sha256(text.encode()).hexdigest() == digest, f"{name} differs from what make web-vendor wrote"
    sources = [*WEB.glob("*.js"), *WEB.glob("views/*.js"), *(WEB / "vendor" / "firebase").glob("*.js"),
               WEB / "index.html"]
    remote_imports = [str(p.relative_to(WEB)) for p in sources
                      if re.search(r"""(from|import\(|src=)\s*['"]https?://""", p.read_text(encoding="utf-8"))]
    assert remote_imports == []
