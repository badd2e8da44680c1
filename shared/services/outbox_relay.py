"""The outbox relay: publish the events whose own publish failed after their commit.

`tx.emit(event)` writes `outbox/<event_id>` in the use case's transaction and publishes
right after the commit (shared/platform/outbox.py). When that publish fails the state is
committed and the event waits in the outbox with `published_at = null`. A client retry or
a Pub/Sub redelivery would publish it, but a borrower who never retries would leave
`loan.submitted` unpublished and the loan `submitted` forever; so the `outbox_relay`
function runs `relay_outbox` every minute (Cloud Scheduler) and no event is lost:

- It asks for the entries still unpublished and older than `grace` (30 s by
  default: the producer's own publish-after-commit normally lands within
  milliseconds, and the relay must not race it), oldest first, at most
  `batch_size` (200) per run. The query is `published_at == null` and
  `created_at <= cutoff`, ordered by `created_at`: it reads the pending entries
  only, through the composite index `outbox (published_at, created_at)`
  declared in shared/indexes.py, never the growing collection of published ones.
- It publishes them through `uow.publish_pending(event_ids)`, the plumbing's one
  publish path: the same `OutboundMessage` form as the producer's publish, each
  entry re-read first so one published meanwhile is skipped, and marked
  `published_at` after Pub/Sub acknowledged it.
- Idempotent by construction: an entry is marked only after it was published,
  and a failed mark leaves it pending for the next run — a duplicate, which
  consumers drop by `event_id`, never a loss. A failed publish raises
  `PublishFailed` (a 503: Cloud Scheduler retries, the next minute's run too).

`RelayReport` is the run's JSON answer: how many entries were relayed and
whether more were due than one batch holds.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from pydantic import ConfigDict, Field

from shared.model import Model
from shared.platform.clock import Clock
from shared.platform.outbox import OUTBOX
from shared.platform.store import Document, DocumentTransaction, OrderBy, UnitOfWork, Where

logger = logging.getLogger(__name__)

RELAY_GRACE = timedelta(seconds=30)
RELAY_BATCH_SIZE = 200


class RelayReport(Model):
    """What one run of the relay did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    relayed: int = Field(
        ge=0,
        description="Outbox entries found unpublished past the grace period and published now.",
    )
    more: bool = Field(
        description="More entries were due than one batch holds; the next run continues."
    )


def pending_outbox_entries(tx: DocumentTransaction, cutoff: datetime, limit: int) -> list[Document]:
    """Unpublished outbox entries written at or before `cutoff`, oldest first, at most `limit`."""
    return tx.query(
        OUTBOX,
        where=[Where("published_at", "==", None), Where("created_at", "<=", cutoff)],
        order_by=[OrderBy("created_at")],
        limit=limit,
    )


def relay_outbox(
    uow: UnitOfWork,
    clock: Clock,
    *,
    grace: timedelta = RELAY_GRACE,
    batch_size: int = RELAY_BATCH_SIZE,
) -> RelayReport:
    """Publish and mark the oldest `batch_size` entries unpublished for longer than `grace`."""
    if batch_size < 1:
        raise ValueError("the relay's batch size must be at least 1")
    if grace < timedelta(0):
        raise ValueError("the relay's grace period cannot be negative")
    now = clock.now()
    # One more than a batch: the extra entry only says whether the next run has work.
    found = uow.run(
        lambda tx: pending_outbox_entries(tx, now - grace, batch_size + 1), read_only=True
    )
    due, more = found[:batch_size], len(found) > batch_size
    if not due:
        logger.info("outbox relay: nothing pending", extra={"relayed": 0, "more": False})
        return RelayReport(relayed=0, more=False)
    oldest = due[0].data.get("created_at")
    uow.publish_pending([entry.id for entry in due])
    logger.warning(
        "outbox relay published %d event(s) their producers could not",
        len(due),
        extra={
            "relayed": len(due),
            "more": more,
            "topics": sorted({str(entry.data.get("topic")) for entry in due}),
            "oldest_pending_s": (
                round((now - oldest).total_seconds(), 3) if isinstance(oldest, datetime) else None
            ),
        },
    )
    return RelayReport(relayed=len(due), more=more)
