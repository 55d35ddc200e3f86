"""Every call of the API's ``/v1``, each a function that builds a :class:`Call` typed with
its answer. Bodies are the API's own shapes, checked here before they are sent."""

from __future__ import annotations

from datetime import date
from typing import Any

from capillary.client.calls import Call
from capillary.entrypoints.api.schemas import bank as B  # noqa: N812
from capillary.entrypoints.api.schemas import events as E  # noqa: N812
from capillary.entrypoints.api.schemas import ledger as L  # noqa: N812
from capillary.entrypoints.api.schemas import loop as S  # noqa: N812
from capillary.entrypoints.api.schemas import market as MK  # noqa: N812
from capillary.entrypoints.api.schemas import parties as P  # noqa: N812
from capillary.entrypoints.api.schemas import platform as K  # noqa: N812
from capillary.entrypoints.api.schemas import trade as T  # noqa: N812
from capillary.entrypoints.api.schemas.common import Money, Page


def money(amount: str, currency: str = "CNY") -> Money:
    return Money(amount=amount, currency=currency)


def _body(model: Any) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


def _page(cursor: str | None, limit: int, **filters: Any) -> dict[str, Any]:
    return {"cursor": cursor, "limit": limit, **filters}


# ---------------------------------------------------------------- platform, keys, parties


def clock() -> Call[K.ClockOut]:
    return Call("GET", "/v1/clock", K.ClockOut)


def advance_clock(days: int, *, key: str | None = None) -> Call[K.ClockOut]:
    return Call("POST", "/v1/clock/advance", K.ClockOut, _body(K.ClockAdvance(days=days)), key=key)


def create_api_key(org: str, name: str, scopes: list[str], *, key: str | None = None
                   ) -> Call[K.KeyCreated]:  # fmt: skip
    body = K.KeyIn(org=org, name=name, scopes=scopes)
    return Call("POST", "/v1/api-keys", K.KeyCreated, _body(body), key=key)


def api_keys(org: str | None = None, cursor: str | None = None, limit: int = 100
             ) -> Call[Page[K.KeyOut]]:  # fmt: skip
    return Call("GET", "/v1/api-keys", Page[K.KeyOut], params=_page(cursor, limit, org=org))


def revoke_api_key(key_id: str, *, key: str | None = None) -> Call[K.KeyOut]:
    return Call("POST", f"/v1/api-keys/{key_id}/revoke", K.KeyOut, key=key)


# ---------------------------------------------------------------- webhooks and events


def register_webhook(url: str, types: list[str] | None = None, secret: str | None = None, *,
                     key: str | None = None) -> Call[E.WebhookCreated]:  # fmt: skip
    body = E.WebhookIn(url=url, types=types or ["*"], secret=secret)
    return Call("POST", "/v1/webhooks", E.WebhookCreated, _body(body), key=key)


def webhooks(org: str | None = None, cursor: str | None = None, limit: int = 100
             ) -> Call[Page[E.WebhookOut]]:  # fmt: skip
    return Call("GET", "/v1/webhooks", Page[E.WebhookOut], params=_page(cursor, limit, org=org))


def webhook(webhook_id: int) -> Call[E.WebhookOut]:
    return Call("GET", f"/v1/webhooks/{webhook_id}", E.WebhookOut)


def disable_webhook(webhook_id: int, *, key: str | None = None) -> Call[E.WebhookOut]:
    return Call("POST", f"/v1/webhooks/{webhook_id}/disable", E.WebhookOut, key=key)


def deliveries(webhook_id: int, status: str | None = None, cursor: str | None = None,
               limit: int = 100) -> Call[Page[E.DeliveryOut]]:  # fmt: skip
    return Call("GET", f"/v1/webhooks/{webhook_id}/deliveries", Page[E.DeliveryOut],
                params=_page(cursor, limit, status=status))  # fmt: skip


def delivery(delivery_id: int) -> Call[E.DeliveryDetail]:
    return Call("GET", f"/v1/webhook-deliveries/{delivery_id}", E.DeliveryDetail)


def replay(webhook_id: int, delivery_ids: list[int] | None = None, *, key: str | None = None
           ) -> Call[E.Replayed]:  # fmt: skip
    body = E.ReplayIn(delivery_ids=delivery_ids)
    return Call("POST", f"/v1/webhooks/{webhook_id}/replay", E.Replayed, _body(body), key=key)


def events(types: list[str] | None = None, cursor: str | None = None, limit: int = 100
           ) -> Call[Page[E.EventOut]]:  # fmt: skip
    return Call("GET", "/v1/events", Page[E.EventOut], params=_page(cursor, limit, type=types))


def register_organization(body: P.OrganizationIn, *, key: str | None = None
                          ) -> Call[P.OrganizationOut]:  # fmt: skip
    return Call("POST", "/v1/organizations", P.OrganizationOut, _body(body), key=key)


def organizations(cursor: str | None = None, limit: int = 100, role: str | None = None
                  ) -> Call[Page[P.OrganizationOut]]:  # fmt: skip
    params = _page(cursor, limit, role=role)
    return Call("GET", "/v1/organizations", Page[P.OrganizationOut], params=params)


def relate(buyer: str, supplier: str, *, key: str | None = None) -> Call[P.RelationshipOut]:
    body = P.RelationshipIn(buyer=buyer, supplier=supplier)
    return Call("POST", "/v1/relationships", P.RelationshipOut, _body(body), key=key)


# ---------------------------------------------------------------- trade


def create_order(body: T.OrderIn, *, key: str | None = None) -> Call[T.OrderOut]:
    return Call("POST", "/v1/orders", T.OrderOut, _body(body), key=key)


def record_delivery(body: T.DeliveryIn, *, key: str | None = None) -> Call[T.DeliveryOut]:
    return Call("POST", "/v1/deliveries", T.DeliveryOut, _body(body), key=key)


def accept_delivery(supplier: str, number: str, *, key: str | None = None
                    ) -> Call[T.DeliveryOut]:  # fmt: skip
    return Call("POST", f"/v1/deliveries/{supplier}/{number}/accept", T.DeliveryOut, {}, key=key)


def send_invoice(body: T.InvoiceIn, *, key: str | None = None) -> Call[T.InvoiceOut]:
    return Call("POST", "/v1/invoices", T.InvoiceOut, _body(body), key=key)


def match(invoice_ids: list[int] | None = None, *, key: str | None = None
          ) -> Call[list[T.MatchOut]]:  # fmt: skip
    body = T.MatchIn(invoice_ids=invoice_ids)
    return Call("POST", "/v1/invoices/match", list[T.MatchOut], _body(body), key=key)


def confirm_invoice(seller: str, number: str, due_date: date, *, code: str | None = None,
                    override_reason: str | None = None, key: str | None = None
                    ) -> Call[T.PayableOut]:  # fmt: skip
    body = T.ConfirmIn(due_date=due_date, override_reason=override_reason)
    return Call("POST", f"/v1/invoices/{seller}/{number}/confirm", T.PayableOut, _body(body),
                params={"code": code}, key=key)  # fmt: skip


def payables(cursor: str | None = None, limit: int = 100, org: str | None = None
             ) -> Call[Page[T.PayableOut]]:  # fmt: skip
    return Call("GET", "/v1/payables", Page[T.PayableOut], params=_page(cursor, limit, org=org))


def import_file(kind: str, name: str, content: bytes, *, key: str | None = None
                ) -> Call[T.ImportOut]:  # fmt: skip
    return Call("POST", f"/v1/imports/{kind}", T.ImportOut, files={"file": (name, content)},
                key=key)  # fmt: skip


# ---------------------------------------------------------------- credit and cash


def grant_credit(funder: str, obligor: str, limit: Money, expires_on: date, *,
                 key: str | None = None) -> Call[S.CreditLineOut]:  # fmt: skip
    body = S.CreditLineIn(funder=funder, obligor=obligor, limit=limit, expires_on=expires_on)
    return Call("POST", "/v1/credit-lines", S.CreditLineOut, _body(body), key=key)


def credit_lines(cursor: str | None = None, limit: int = 100, org: str | None = None
                 ) -> Call[Page[S.CreditLineOut]]:  # fmt: skip
    params = _page(cursor, limit, org=org)
    return Call("GET", "/v1/credit-lines", Page[S.CreditLineOut], params=params)


def set_issuance_limit(obligor: str, limit: Money, *, key: str | None = None
                       ) -> Call[S.IssuanceLimitOut]:  # fmt: skip
    body = S.IssuanceLimitIn(obligor=obligor, limit=limit)
    return Call("POST", "/v1/issuance-limits", S.IssuanceLimitOut, _body(body), key=key)


def deposit(org: str, amount: Money, reference: str = "", *, key: str | None = None
            ) -> Call[S.CashMoved]:  # fmt: skip
    body = S.CashMove(org=org, amount=amount, reference=reference)
    return Call("POST", "/v1/deposits", S.CashMoved, _body(body), key=key)


def withdraw(org: str, amount: Money, reference: str = "", *, key: str | None = None
             ) -> Call[S.CashMoved]:  # fmt: skip
    body = S.CashMove(org=org, amount=amount, reference=reference)
    return Call("POST", "/v1/withdrawals", S.CashMoved, _body(body), key=key)


def cash(org: str, currency: str = "CNY") -> Call[S.CashBalance]:
    return Call("GET", f"/v1/cash/{org}/{currency}", S.CashBalance)


def set_bank_account(
    org: str, number: str, holder: str, *, currency: str = "CNY", bic: str = "",
    sweep: bool = False, key: str | None = None,
) -> Call[B.BankAccountOut]:  # fmt: skip
    """Put ``org``'s own bank account on file: withdrawals leave for it."""
    body = B.BankAccountIn(org=org, currency=currency, number=number, holder=holder, bic=bic,
                           sweep=sweep)  # fmt: skip
    return Call("POST", "/v1/bank-accounts", B.BankAccountOut, _body(body), key=key)


def bank_payments(org: str | None = None, limit: int = 100) -> Call[list[B.PaymentOut]]:
    return Call("GET", "/v1/bank/payments", list[B.PaymentOut],
                params={"org": org, "limit": limit})  # fmt: skip


# ---------------------------------------------------------------- certificates


def issue(obligor: str, holder: str, payable_ids: list[int], face: Money, maturity: date, *,
          key: str | None = None) -> Call[S.Issued]:  # fmt: skip
    body = S.IssueIn(obligor=obligor, holder=holder, payable_ids=payable_ids, face=face,
                     maturity=maturity)  # fmt: skip
    return Call("POST", "/v1/certificates", S.Issued, _body(body), key=key)


def accept_certificate(number: str, *, key: str | None = None) -> Call[S.CertificateOut]:
    return Call("POST", f"/v1/certificates/{number}/accept", S.CertificateOut, key=key)


def cancel_certificate(number: str, reason: str, *, key: str | None = None
                       ) -> Call[S.CertificateOut]:  # fmt: skip
    body = S.CancelIn(reason=reason)
    return Call("POST", f"/v1/certificates/{number}/cancel", S.CertificateOut, _body(body),
                key=key)  # fmt: skip


def certificate(number: str) -> Call[S.CertificateTree]:
    return Call("GET", f"/v1/certificates/{number}", S.CertificateTree)


def certificates(cursor: str | None = None, limit: int = 100, status: str | None = None,
                 org: str | None = None) -> Call[Page[S.CertificateOut]]:  # fmt: skip
    params = _page(cursor, limit, status=status, org=org)
    return Call("GET", "/v1/certificates", Page[S.CertificateOut], params=params)


def fragments(cursor: str | None = None, limit: int = 100, holder: str | None = None
              ) -> Call[Page[S.FragmentOut]]:  # fmt: skip
    params = _page(cursor, limit, holder=holder)
    return Call("GET", "/v1/fragments", Page[S.FragmentOut], params=params)


def lineage(fragment_id: int) -> Call[list[S.FragmentOut]]:
    return Call("GET", f"/v1/fragments/{fragment_id}/lineage", list[S.FragmentOut])


def transfer(fragment_id: int, recipient: str, amount: Money, reference: str, *,
             key: str | None = None) -> Call[S.Moved]:  # fmt: skip
    body = S.TransferIn(recipient=recipient, amount=amount, reference=reference)
    return Call("POST", f"/v1/fragments/{fragment_id}/transfers", S.Moved, _body(body), key=key)


# ---------------------------------------------------------------- financing, settlement


def offer_financing(body: S.OfferIn, *, key: str | None = None) -> Call[S.OfferOut]:
    return Call("POST", "/v1/financing-offers", S.OfferOut, _body(body), key=key)


def quote_financing(body: S.QuoteIn, *, key: str | None = None) -> Call[S.OfferOut]:
    return Call("POST", "/v1/financing-quotes", S.OfferOut, _body(body), key=key)


def accept_financing(offer_id: int, *, key: str | None = None) -> Call[S.FinancedOut]:
    return Call("POST", f"/v1/financing-offers/{offer_id}/accept", S.FinancedOut, key=key)


def withdraw_financing(offer_id: int, *, key: str | None = None) -> Call[S.OfferOut]:
    return Call("POST", f"/v1/financing-offers/{offer_id}/withdraw", S.OfferOut, key=key)


def financing_offers(cursor: str | None = None, limit: int = 100, status: str | None = None
                     ) -> Call[Page[S.OfferOut]]:  # fmt: skip
    params = _page(cursor, limit, status=status)
    return Call("GET", "/v1/financing-offers", Page[S.OfferOut], params=params)


def settle(*, key: str | None = None) -> Call[S.SettlementOut]:
    return Call("POST", "/v1/settlement-runs", S.SettlementOut, key=key)


def pay_early(number: str, rate: str, *, key: str | None = None) -> Call[S.PaidOut]:
    body = S.PayEarlyIn(rate=rate, day_count="ACT/360")
    return Call("POST", f"/v1/certificates/{number}/pay-early", S.PaidOut, _body(body), key=key)


def recourse_claims(cursor: str | None = None, limit: int = 100, status: str | None = None
                    ) -> Call[Page[S.ClaimOut]]:  # fmt: skip
    params = _page(cursor, limit, status=status)
    return Call("GET", "/v1/recourse-claims", Page[S.ClaimOut], params=params)


def collect_recourse(claim_id: int, *, key: str | None = None) -> Call[S.Collected]:
    return Call("POST", f"/v1/recourse-claims/{claim_id}/collect", S.Collected, key=key)


# ---------------------------------------------------------------- ledger


def accounts(cursor: str | None = None, limit: int = 100, org: str | None = None,
             unit: str | None = None) -> Call[Page[L.AccountOut]]:  # fmt: skip
    params = _page(cursor, limit, org=org, unit=unit)
    return Call("GET", "/v1/ledger/accounts", Page[L.AccountOut], params=params)


def history(account_id: int, cursor: str | None = None, limit: int = 100
            ) -> Call[Page[L.HistoryOut]]:  # fmt: skip
    return Call("GET", f"/v1/ledger/accounts/{account_id}/history", Page[L.HistoryOut],
                params=_page(cursor, limit))  # fmt: skip


def verify() -> Call[L.VerifyOut]:
    return Call("GET", "/v1/ledger/verify", L.VerifyOut)


def reconciliation() -> Call[L.ReconcileOut]:
    return Call("GET", "/v1/ledger/reconciliation", L.ReconcileOut)


# ---------------------------------------------------------------- the marketplace


def request_financing(body: MK.RequestIn, *, key: str | None = None) -> Call[MK.RequestOut]:
    return Call("POST", "/v1/market/requests", MK.RequestOut, _body(body), key=key)


def financing_requests(status: str | None = None, cursor: str | None = None, limit: int = 100
                       ) -> Call[Page[MK.RequestOut]]:  # fmt: skip
    return Call("GET", "/v1/market/requests", Page[MK.RequestOut],
                params=_page(cursor, limit, status=status))  # fmt: skip


def financing_request(request_id: int) -> Call[MK.RequestOut]:
    return Call("GET", f"/v1/market/requests/{request_id}", MK.RequestOut)


def cancel_request(request_id: int, *, key: str | None = None) -> Call[MK.RequestOut]:
    return Call("POST", f"/v1/market/requests/{request_id}/cancel", MK.RequestOut, key=key)


def quote_request(request_id: int, body: MK.MarketQuoteIn, *, key: str | None = None
                  ) -> Call[MK.MarketQuoteOut]:  # fmt: skip
    return Call("POST", f"/v1/market/requests/{request_id}/quotes", MK.MarketQuoteOut,
                _body(body), key=key)  # fmt: skip


def market_quotes(request_id: int) -> Call[list[MK.MarketQuoteOut]]:
    return Call("GET", f"/v1/market/requests/{request_id}/quotes", list[MK.MarketQuoteOut])


def fill_request(request_id: int, *, key: str | None = None) -> Call[MK.Filled]:
    return Call("POST", f"/v1/market/requests/{request_id}/fill", MK.Filled, key=key)


def offer_early_payment(body: MK.EarlyPaymentIn, *, key: str | None = None
                        ) -> Call[MK.EarlyPaymentOut]:  # fmt: skip
    return Call("POST", "/v1/market/early-payments", MK.EarlyPaymentOut, _body(body), key=key)


def early_payment(programme_id: int) -> Call[MK.EarlyPaymentOut]:
    return Call("GET", f"/v1/market/early-payments/{programme_id}", MK.EarlyPaymentOut)


def bid_early_payment(programme_id: int, body: MK.BidIn, *, key: str | None = None
                      ) -> Call[MK.BidOut]:  # fmt: skip
    return Call("POST", f"/v1/market/early-payments/{programme_id}/bids", MK.BidOut,
                _body(body), key=key)  # fmt: skip


def early_payment_bids(programme_id: int) -> Call[list[MK.BidOut]]:
    return Call("GET", f"/v1/market/early-payments/{programme_id}/bids", list[MK.BidOut])


def bid_outlook(programme_id: int, bid_id: int) -> Call[MK.OutlookOut]:
    return Call("GET", f"/v1/market/early-payments/{programme_id}/bids/{bid_id}/outlook",
                MK.OutlookOut)  # fmt: skip


def clear_early_payment(programme_id: int, *, key: str | None = None) -> Call[MK.ClearingOut]:
    return Call("POST", f"/v1/market/early-payments/{programme_id}/clear", MK.ClearingOut,
                key=key)  # fmt: skip
