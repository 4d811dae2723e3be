"""Commission invoices through the served API: listed with masked IBANs, marked paid by an admin once, for the
amount the admin saw, with an audit; a viewer marks nothing, and one unreadable document hides no other invoice."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from admin_harness import AdminClient
from google.cloud import firestore

from spreadpilot.invoices import Invoice, InvoiceStatus

IBAN = "DE89370400440532013000"


def put(db: firestore.Client, follower_id: str, month: str, amount: str,
        status: InvoiceStatus = InvoiceStatus.UNPAID) -> None:
    invoice = Invoice(follower_id=follower_id, month=month, iban=IBAN, account="DU001", commission=Decimal(amount),
                      amount=Decimal(amount), currency="USD", status=status,
                      payment_reference=f"SP-{month.replace('-', '')}-{follower_id}", created_at=datetime.now(UTC))
    db.collection("invoices").document(f"{follower_id}:{month}").set(invoice.to_doc())


def test_invoices_are_listed_newest_first_with_masked_ibans_and_filtered_by_month_and_status(
    admin: AdminClient, firestore_db: firestore.Client
) -> None:
    put(firestore_db, "f01", "2026-03", "40.00", InvoiceStatus.PAID)
    put(firestore_db, "f01", "2026-04", "12.50")
    put(firestore_db, "f02", "2026-04", "7.25")
    firestore_db.collection("invoices").document("f03:2026-04").set({"follower_id": "f03", "amount": "x"})

    listed = admin.call("GET", "/invoices")
    unpaid = admin.call("GET", "/invoices?status=unpaid&month=2026-04")
    bad = admin.call("GET", "/invoices?status=owed")

    assert listed.status_code == 200, listed.text
    assert [r["id"] for r in listed.json()["invoices"]] == ["f02:2026-04", "f01:2026-04", "f01:2026-03"]
    assert listed.json()["unreadable"] == ["f03:2026-04"]
    assert IBAN not in listed.text
    assert listed.json()["invoices"][0]["iban_masked"].endswith("3000")
    assert [r["id"] for r in unpaid.json()["invoices"]] == ["f02:2026-04", "f01:2026-04"]
    assert bad.status_code == 400
    assert "status must be one of" in bad.json()["error"]["message"]


def test_an_admin_marks_an_invoice_paid_once_for_the_amount_seen_and_a_viewer_cannot(
    admin: AdminClient, viewer: AdminClient, firestore_db: firestore.Client
) -> None:
    put(firestore_db, "f01", "2026-04", "12.50")
    put(firestore_db, "f02", "2026-04", "0", InvoiceStatus.VOID)

    by_viewer = viewer.call("POST", "/invoices/f01:2026-04/paid", {"amount": "12.50"})
    stale = admin.call("POST", "/invoices/f01:2026-04/paid", {"amount": "10.00"})  # corrected since it was seen
    paid = admin.call("POST", "/invoices/f01:2026-04/paid", {"amount": "12.50", "note": "transfer 8812"})
    again = admin.call("POST", "/invoices/f01:2026-04/paid", {"amount": "12.50"})
    void = admin.call("POST", "/invoices/f02:2026-04/paid", {"amount": "0"})
    missing = admin.call("POST", "/invoices/f09:2026-04/paid", {"amount": "1"})

    assert by_viewer.status_code == 403
    assert stale.status_code == 409
    assert "is now 12.50 USD, not 10.00" in stale.json()["error"]["message"]
    assert paid.status_code == 200, paid.text
    doc = firestore_db.collection("invoices").document("f01:2026-04").get().to_dict()
    assert (doc["status"], doc["paid_by"]) == ("paid", paid.json()["paid_by"])
    assert doc["iban"] == IBAN  # the stored invoice keeps what the payment needs
    assert again.status_code == 409
    assert "already paid" in again.json()["error"]["message"]
    assert void.status_code == 409
    assert missing.status_code == 404
    audits = [d.to_dict() for d in firestore_db.collection("audit").stream()
              if (d.to_dict() or {}).get("action") == "invoice.paid"]
    assert [(a["invoice_id"], a["amount"], a["note"]) for a in audits] == [("f01:2026-04", "12.50", "transfer 8812")]
