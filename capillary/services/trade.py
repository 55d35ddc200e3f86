"""Use cases of the digitized trade: orders, deliveries, invoices, the match, payables.

Bulk and single documents go the same way (a single document is a batch of one); every
state change writes an audit row in the same database transaction. The use cases live by
capability in :mod:`~capillary.services.trade_orders` and
:mod:`~capillary.services.trade_invoices`, over :mod:`~capillary.services.trade_core`."""

from __future__ import annotations

from capillary.services.trade_core import invoice_key, order_key
from capillary.services.trade_invoices import TradeInvoices
from capillary.services.trade_orders import TradeOrders

__all__ = ["TradeService", "invoice_key", "order_key"]


class TradeService(TradeOrders, TradeInvoices):
    """The trade's use cases, over one store."""
