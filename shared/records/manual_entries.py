"""What the store keeps about manual adjusting entries (docs/lending-rules.md#ledger).

`manual_entries/<id>`: a journal entry one `admin.finance` proposes, with a reason and
attachments (the evidence, uploaded to the documents bucket), and a different one approves;
only then is it posted, as `manual-<id>`. An entry that moves escrow cash states the bank's
value date and may name the statement line it explains.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import ConfigDict

from shared.domain.maker_checker import Checked, Made
from shared.fields import Instant
from shared.model import Model
from shared.platform.store import Repository
from shared.records.ledger import PostingRecord

MANUAL_ENTRIES = "manual_entries"


class Attachment(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    file_name: str
    content_type: str
    object_name: str


class ManualEntryRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    postings: tuple[PostingRecord, ...]
    memo: str
    reason: str
    value_date: date | None = None
    line_id: str | None = None
    attachments: tuple[Attachment, ...]
    state: Literal["proposed", "posted", "rejected"] = "proposed"
    proposed: Made
    proposed_at: Instant
    decided: Checked | None = None
    decision_note: str | None = None
    entry_id: str | None = None
    updated_at: Instant


class ManualEntries(Repository[ManualEntryRecord]):
    collection = MANUAL_ENTRIES
    model = ManualEntryRecord
