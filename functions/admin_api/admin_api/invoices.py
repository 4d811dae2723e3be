"""Commission invoices: the list (by month and status; IBANs masked) and marking one paid (admins only, audited).

Marking paid names the amount the admin saw. If the monthly rollup corrected the invoice since (an unpaid invoice
follows its month), the mark is refused with the amount now due, so no payment is booked against an amount nobody
saw. A paid invoice is never changed again: a later correction of its month goes onto the next invoice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from google.cloud import firestore
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from admin_api.deps import Deps, Route
from admin_api.http import ApiError, Call, not_found
from spreadpilot.invoices import Invoice, InvoiceStatus
from spreadpilot.models import mask_iban
from spreadpilot.store import INVOICES


class MarkPaid(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(description="the amount the admin saw due (refused if the invoice changed since)")
    note: str = Field(default="", max_length=200, description="e.g. the bank transfer's reference")


def _invoice(doc: dict[str, Any], invoice_id: str) -> Invoice:
    try:
        return Invoice.model_validate(doc)
    except ValidationError as exc:
        raise ApiError(409, f"invoice {invoice_id} cannot be read ({exc.error_count()} problem(s)): fix the "
                       "document in the Firestore console", where="invoice") from exc


def invoice_view(invoice_id: str, invoice: Invoice) -> dict[str, object]:
    """What the API shows of an invoice: everything but the full IBAN."""
    doc = invoice.to_doc()
    doc.pop("iban", None)
    return {"id": invoice_id, **doc, "iban_masked": mask_iban(invoice.iban), "credit_note": invoice.credit_note}


def list_invoices(deps: Deps, call: Call) -> object:
    month, status = call.query("month"), call.query("status")
    if status and status not in {s.value for s in InvoiceStatus}:
        raise ApiError(400, f"status must be one of {', '.join(s.value for s in InvoiceStatus)}, got {status!r}",
                       where="query.status")
    rows, unreadable = [], []
    for snap in deps.store.db.collection(INVOICES).stream():
        try:
            invoice = Invoice.model_validate(snap.to_dict() or {})
        except ValidationError:
            unreadable.append(snap.id)  # listed by id: one bad document hides no other invoice
            continue
        if (not month or invoice.month == month) and (not status or invoice.status == status):
            rows.append(invoice_view(snap.id, invoice))
    rows.sort(key=lambda r: (str(r["month"]), str(r["follower_id"])), reverse=True)
    return {"invoices": rows, "unreadable": sorted(unreadable)}


def mark_paid(deps: Deps, call: Call) -> object:
    invoice_id = call.param("invoice_id")
    body = call.body(MarkPaid)
    ref = deps.store.db.collection(INVOICES).document(invoice_id)

    @firestore.transactional
    def mark(tx: Any) -> Invoice:
        snap = ref.get(transaction=tx)
        if not snap.exists:
            raise not_found("invoice", invoice_id)
        invoice = _invoice(snap.to_dict() or {}, invoice_id)
        if invoice.status is InvoiceStatus.PAID:
            raise ApiError(409, f"invoice {invoice_id} is already paid (by {invoice.paid_by or 'unknown'} at "
                           f"{invoice.paid_at.isoformat() if invoice.paid_at else 'an unknown time'})",
                           where="invoice")
        if invoice.status is InvoiceStatus.VOID:
            raise ApiError(409, f"invoice {invoice_id} is void: its month was corrected to nothing to bill",
                           where="invoice")
        if invoice.amount != body.amount:
            raise ApiError(409, f"invoice {invoice_id} is now {invoice.amount} {invoice.currency}, not {body.amount}:"
                           " it was corrected since you looked; reload and check before marking it paid",
                           where="amount")
        paid = invoice.model_copy(update={"status": InvoiceStatus.PAID, "paid_at": call.now,
                                          "paid_by": call.principal.actor, "updated_at": call.now})
        tx.update(ref, {"status": paid.status.value, "paid_at": call.now.isoformat(), "paid_by": paid.paid_by,
                        "updated_at": call.now.isoformat()})
        return paid

    paid = mark(deps.store.db.transaction())
    deps.store.audit("invoice.paid", actor=call.principal.actor, source="web", at=call.now.isoformat(),
                     invoice_id=invoice_id, amount=str(paid.amount), currency=paid.currency, note=body.note)
    return invoice_view(invoice_id, paid)


ROUTES = [
    Route("GET", "/invoices", list_invoices, "Commission invoices, newest month first (query: month, status); "
          "IBANs masked"),
    Route("POST", "/invoices/{invoice_id}/paid", mark_paid, "Mark an invoice paid: the amount seen must still be "
          "the amount due", changes=True, body="MarkPaid"),
]
