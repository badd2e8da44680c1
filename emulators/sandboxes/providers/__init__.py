"""A local sandbox standing in for Patungan's proprietary data providers.

``python -m emulators.sandboxes.providers --host 127.0.0.1 --port 8090`` serves, over
HTTP on one port, the civil registry (Dukcapil), the credit bureau (SLIK),
marketplace sales, business profiles and a bank's account inquiry, with deterministic
answers derived from the NIK, the store id and the account number (see README.md in this
folder), latency and failure injection per provider, and API-key authentication. The production
HTTP clients (Patungan's provider adapters) talk to it unchanged.
"""

from __future__ import annotations

DEFAULT_API_KEY = "sandbox-key"
DEFAULT_API_KEY_HEADER = "X-API-Key"
PROVIDER_NAMES = (
    "civil_registry",
    "credit_bureau",
    "ecommerce_sales",
    "business_profile",
    "bank_account_inquiry",
)
