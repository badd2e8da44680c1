"""The documents the platform stores, as pydantic models, with a repository per collection.

One module per kind of record (`loans`, `credit_decisions`, `users`, `products`, `quotes`
for priced terms). Use cases read and write them through `shared.platform.store.Repository`
inside their one transaction; nothing here has a rule of its own beyond the shape of what
is stored.
"""
