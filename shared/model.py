"""`Model`: the base of every platform model (requests, answers, records, events, domain
values), so that a function builds the validators it uses, not every one it imports.

pydantic builds a model's validator and serializer when the class is created unless
`defer_build` is set; then it builds them on first use. A function's `main.py` imports
hundreds of models through its use cases and records and answers a request with a handful,
so building eagerly is most of the import of our own code and is paid by every cold start
(docs/architecture.md#cold-start). A subclass's own `model_config` adds to this one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A pydantic model whose validator is built on first use, not at import."""

    model_config = ConfigDict(defer_build=True)
