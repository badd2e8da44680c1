"""A lender's tax position: the documents they file, their verification, and the profile
the billing split withholds by (docs/lending-rules.md#fees-and-taxes).

- `file_tax_document`: a lender files a certificate of domicile (a non-resident: the treaty
  rate on interest and the dates the certificate covers) or a withholding-exemption letter
  (a resident institution whose profile states a PPh 23(4) basis); they get a signed URL to
  upload the document itself.
- `decide_tax_document`: `admin.finance` verifies or rejects it once the file is uploaded;
  nobody decides their own. The platform is the withholding agent: nothing the lender
  claims lowers the tax until it is verified.
- `tax_profile_on`: the lender's `LenderTaxProfile` on a day: resident (15%, or exempt on
  a verified basis), non-resident (20%, or the treaty rate while a verified certificate
  covers the day).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from shared.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.domain.maker_checker import Made, checked
from shared.domain.tax import PPH_26_RATE, LenderTaxProfile
from shared.fields import ProseStr, RateText
from shared.model import Model
from shared.platform.callers import Caller
from shared.platform.clock import Clock
from shared.platform.documents import DocumentStorage
from shared.platform.ids import IdGenerator, require_document_id
from shared.platform.store import DocumentTransaction, OrderBy, UnitOfWork, Where
from shared.records.tax_documents import (
    TaxDocumentKind,
    TaxDocumentRecord,
    TaxDocuments,
)
from shared.records.users import UserRecord, Users

MAX_DOCUMENTS_READ = 50
_EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


class TaxDocumentFiling(Model):
    """`POST /users/me/tax-documents`: what the document says, before it is uploaded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: TaxDocumentKind
    content_type: Literal["application/pdf", "image/jpeg", "image/png"]
    valid_from: date
    valid_to: date
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    treaty_rate: RateText | None = None

    @model_validator(mode="after")
    def _what_each_kind_says(self) -> Self:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        if self.kind == "certificate_of_domicile":
            if self.country is None or self.treaty_rate is None:
                raise ValueError("a certificate of domicile names its country and treaty rate")
            if self.treaty_rate > PPH_26_RATE:
                raise ValueError(f"a treaty rate above PPh 26's {PPH_26_RATE} never applies")
        elif self.country is not None or self.treaty_rate is not None:
            raise ValueError("an exemption letter carries no country or treaty rate")
        return self


class TaxDocumentDecision(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    narrative: Annotated[ProseStr, Field(min_length=10, max_length=2000)]


class FiledTaxDocument(Model):
    """The filed document and where to PUT its file (with exactly these headers)."""

    model_config = ConfigDict(frozen=True)

    document: TaxDocumentRecord
    upload_url: str
    upload_headers: dict[str, str]


class TaxDocumentList(Model):
    model_config = ConfigDict(frozen=True)

    documents: tuple[TaxDocumentRecord, ...]


def _may_file(user: UserRecord, kind: TaxDocumentKind) -> None:
    profile = user.lender_profile
    if user.role != "lender" or profile is None:
        raise Forbidden("only lenders file tax documents")
    if kind == "certificate_of_domicile" and profile.residency != "non_resident":
        raise ValidationFailed(
            "a certificate of domicile is for non-resident lenders",
            {"kind": "residents are withheld PPh 23"},
        )
    if kind == "withholding_exemption" and profile.withholding_exemption_basis is None:
        raise ValidationFailed(
            "an exemption letter backs the PPh 23(4) basis the lender profile states",
            {"kind": "the profile states no exemption basis"},
        )


def file_tax_document(
    uow: UnitOfWork,
    storage: DocumentStorage,
    caller: Caller,
    filing: TaxDocumentFiling,
    *,
    clock: Clock,
    ids: IdGenerator,
) -> FiledTaxDocument:
    """Record what the lender says the document says; it counts once verified."""
    now = clock.now()
    document_id = ids.new_id("taxdoc")
    object_name = f"tax/{caller.user_id}/{document_id}{_EXTENSIONS[filing.content_type]}"
    user = uow.run(lambda tx: Users(tx).get(caller.user_id), read_only=True)
    if user is None:
        raise Forbidden("register as a lender first")
    _may_file(user, filing.kind)
    signed = storage.upload_url(object_name, filing.content_type)

    def record(tx: DocumentTransaction) -> FiledTaxDocument:
        document = TaxDocumentRecord(
            id=document_id,
            user_id=caller.user_id,
            kind=filing.kind,
            country=filing.country,
            treaty_rate=filing.treaty_rate,
            valid_from=filing.valid_from,
            valid_to=filing.valid_to,
            object_name=object_name,
            content_type=filing.content_type,
            filed=Made(by=caller.user_id, at=now),
            filed_at=now,
        )
        TaxDocuments(tx).add(document)
        return FiledTaxDocument(
            document=document, upload_url=signed.url, upload_headers=dict(signed.headers)
        )

    return uow.run(record)


def decide_tax_document(
    uow: UnitOfWork,
    storage: DocumentStorage,
    document_id: str,
    decision: TaxDocumentDecision,
    *,
    verify: bool,
    admin_id: str,
    clock: Clock,
) -> TaxDocumentRecord:
    """`admin.finance` verifies (or rejects) a filed document whose file was uploaded."""
    require_document_id(document_id, "tax document")
    now = clock.now()
    filed = uow.run(lambda tx: TaxDocuments(tx).get(document_id), read_only=True)
    if filed is None:
        raise NotFound(f"there is no tax document {document_id!r}")
    if verify and storage.describe(filed.object_name) is None:
        raise Conflict("the document's file has not been uploaded yet")

    def decide(tx: DocumentTransaction) -> TaxDocumentRecord:
        documents = TaxDocuments(tx)
        document = documents.require(document_id)
        if document.state != "pending":
            raise Conflict(f"tax document {document_id} is already {document.state}")
        action = "verify this tax document" if verify else "reject this tax document"
        decided = document.model_copy(
            update={
                "state": "verified" if verify else "rejected",
                "decided": checked(
                    admin_id, document.filed, now, action=action, subject=document.user_id
                ),
                "narrative": decision.narrative,
            }
        )
        documents.put(decided)
        return decided

    return uow.run(decide)


def tax_documents_of(uow: UnitOfWork, user_id: str) -> TaxDocumentList:
    """A user's tax documents, newest first (`NotFound` when no such user is registered)."""

    def read(tx: DocumentTransaction) -> list[TaxDocumentRecord]:
        if Users(tx).get(user_id) is None:
            raise NotFound(f"there is no user {user_id!r}")
        return TaxDocuments(tx).find(
            Where("user_id", "==", user_id),
            order_by=(OrderBy("filed_at", descending=True),),
            limit=MAX_DOCUMENTS_READ,
        )

    return TaxDocumentList(documents=tuple(uow.run(read, read_only=True)))


def tax_profile_on(
    user: UserRecord, documents: list[TaxDocumentRecord], on: date
) -> LenderTaxProfile:
    """The profile withholding applies by on `on`: only verified documents covering the
    day lower the tax (the best treaty rate among them, if several)."""
    profile = user.lender_profile
    if profile is None:
        raise ValidationFailed(f"{user.id} is not a lender", {"user_id": "no lender profile"})
    in_force = [d for d in documents if d.user_id == user.id and d.in_force(on)]
    if profile.residency == "resident":
        exempt = any(d.kind == "withholding_exemption" for d in in_force)
        basis = profile.withholding_exemption_basis if exempt else None
        return LenderTaxProfile(resident=True, exemption_basis=basis)
    rates = [
        d.treaty_rate
        for d in in_force
        if d.kind == "certificate_of_domicile" and d.treaty_rate is not None
    ]
    if not rates:
        return LenderTaxProfile.non_resident()
    return LenderTaxProfile.non_resident(treaty_rate=min(rates), certificate_on_file=True)
