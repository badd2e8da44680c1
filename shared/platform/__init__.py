"""The plumbing every use case runs on, apart from the lending rules.

- `store`: documents, transactions and the unit of work (one transaction per use case).
- `outbox`: events written in the transaction that causes them, published after it commits.
- `idempotency`: Idempotency-Key claims and processed-event records.
- `event_origin`: who stamps the events a function produces (entity, clock, ids).
- `clock`, `ids`: time (and the Jakarta calendar) and identifiers, passed in, never global.
- `callers`: who is calling (roles, the caller's record) and the token verifier port.
- `documents`, `personal_data`, `providers`: the ports to Cloud Storage, the PII vault and
  the credit-data providers.
- `errors`: infrastructure that may work if asked again (503 / redelivery).

Adapters (`shared/adapters`) implement these ports; use cases (`shared/services`) receive them.
"""
