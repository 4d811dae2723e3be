"""A disabled operator's still-valid ID token reads nothing from Firestore: terraform/firestore.rules refuses an
operator with a ``revoked_operators/{uid}`` document (what the admin API writes on disable), in the emulator's rules
engine, asked with the token the way the web app's Firebase SDK asks."""

from __future__ import annotations

from datetime import UTC, datetime

import requests
from google.cloud import firestore

from identity.keys import SigningKey
from identity.tokens import mint_id_token
from stack.local_stack import FIRESTORE_EMULATOR_HOST, LocalStack

KEY = SigningKey.generate(datetime.now(UTC))


def read(stack: LocalStack, path: str, uid: str) -> int:
    bearer = mint_id_token(KEY, project=stack.project, uid=uid, email=f"{uid}@example.com", role="viewer",
                           issued_at=datetime.now(UTC))
    url = (f"http://{stack.env[FIRESTORE_EMULATOR_HOST]}/v1/projects/{stack.project}/databases/(default)/documents/"
           f"{path}")
    return requests.get(url, headers={"Authorization": f"Bearer {bearer}"}, timeout=10).status_code


def test_a_revoked_operator_reads_nothing_while_the_others_still_read(
    clean_stack: LocalStack, firestore_db: firestore.Client
) -> None:
    firestore_db.document("alerts/a1").set({"message": "gw1 lost its connection"})
    assert read(clean_stack, "alerts/a1", "op-gone") == 200

    firestore_db.document("revoked_operators/op-gone").set({"uid": "op-gone", "by": "admin@spreadpilot.local"})

    assert read(clean_stack, "alerts/a1", "op-gone") == 403
    assert read(clean_stack, "alerts/a1", "op-still-here") == 200
    assert read(clean_stack, "revoked_operators/op-gone", "op-still-here") == 403  # nobody reads the list itself
