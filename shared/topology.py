"""The single declaration of every Patungan Cloud Function and Pub/Sub topic.

The Pulumi program deploys from it, the local runner starts and wires from it,
and tests check it (`validate_topology`). Adding a function means adding one
`Function` here and one folder `functions/<name>/main.py` whose entry point is
`<name>`.

Each `Function` also says what it touches (Firestore, the documents bucket,
the secrets it reads, the topics it publishes): the infrastructure grants its
service account exactly that and nothing more, so a function that starts
reading something new must say so here first. `SECRETS` declares every Secret
Manager secret and the environment variable it is mounted as.

Which entities deploy a function follows from whom it serves (`Function.serves`)
and the OJK licence each entity's manifest names (`SERVED_UNDER`): a P2P lender
(LPBBTI) and a cooperative run the lenders' side as well as the borrowers'; a
bank, a BPR or a microfinance institution lends its own funds and deploys no
lender functions.

How each function is deployed and wired (its environment, push subscriptions,
Scheduler job) is derived from this declaration once, in `shared/deployment.py`.

Local ports: the emulators own 8080/8081 (Firestore gRPC/admin), 8085/8086
(Pub/Sub gRPC/admin), 4443 (Storage), 8090 (providers sandbox), 8091 (ops-notifications
sandbox) and 8092 (payment gateway sandbox); functions run on
`LOCAL_FUNCTION_PORT_BASE + index` (8200, 8201, ...), clear of all of them and of
functions-framework's own default 8080.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

REGION = "asia-southeast2"
SCHEDULER_TIME_ZONE = "Asia/Jakarta"
LOCAL_FUNCTION_PORT_BASE = 8200


@dataclass(frozen=True)
class Topic:
    """A Pub/Sub topic carrying one event type; `outbound` topics are kept for audit/analytics.

    `published_by` names who publishes a topic from outside the platform (Cloud Billing's
    budget notifications): no function may publish it, its messages are not event
    envelopes, and it is created where that publisher is configured (the entity project's
    budget), not with the platform's own topics.
    """

    name: str
    description: str
    outbound: bool = False
    published_by: str | None = None


# Every function holding personal data mounts both: the encryption key, and the lookup
# hashes' key, which outlives the encryption key's rotations (shared/adapters/crypto.py).
PII_SECRETS = ("pii-encryption-key", "pii-lookup-key")
PII_ENCRYPTION, PII_LOOKUP = PII_SECRETS

# Cloud Billing publishes the entity budget's notifications here (infra: the entity project).
BUDGET_ALERTS_TOPIC = "billing.budget-alerts"


DataAccess = Literal["none", "read", "read_write"]
# Whom a function serves: the borrowers' side, the lenders' side, or every entity's platform.
Serves = Literal["borrowers", "lenders", "everyone"]
SERVES: tuple[Serves, ...] = ("borrowers", "lenders", "everyone")

# The licence of a savings-and-loan cooperative: its funding is for members only
# (docs/lending-rules.md#cooperative).
COOPERATIVE_LICENCE = "koperasi_sektor_jasa_keuangan"

# The OJK licences an entity may hold (its manifest's `ojk_licence`) and the sides of the
# marketplace each runs; a function serving "everyone" is deployed under every licence.
SERVED_UNDER: dict[str, frozenset[Serves]] = {
    # LPBBTI (P2P lending, POJK 10/POJK.05/2022): many lenders pool money into one loan.
    "lpbbti": frozenset({"borrowers", "lenders"}),
    # A savings-and-loan cooperative: members lend to members, under the same flows.
    COOPERATIVE_LICENCE: frozenset({"borrowers", "lenders"}),
    # Banks (Bank Umum, BPR) and microfinance institutions (LKM) lend their own funds.
    "bank_umum": frozenset({"borrowers"}),
    "bpr": frozenset({"borrowers"}),
    "lkm": frozenset({"borrowers"}),
}


@dataclass(frozen=True)
class Secret:
    """A Secret Manager secret (one per entity project) and the variable it is mounted as."""

    name: str  # the secret id, e.g. "pii-encryption-key"
    description: str
    env_var: str  # mounted into the functions that declare it in `Function.secrets`
    # A key that must overlap during a rotation (data or signatures made under the old
    # version still arrive) is mounted twice: its current version, and its previous one here.
    previous_env_var: str | None = None


@dataclass(frozen=True)
class Function:
    """One Cloud Function (2nd gen) and how it is wired."""

    name: str
    kind: Literal["http", "event"]
    description: str
    # Topics it consumes (event functions only): one push subscription, with its own
    # dead-letter topic, per topic.
    consumes: tuple[str, ...] = ()
    publishes: tuple[str, ...] = ()
    serves: Serves = "borrowers"
    public: bool = False  # callable without a bearer token (still validated)
    # Reads bearer tokens at all (an optional one on a public function); False for a partner's
    # callback that carries its own signature instead (the payment gateway's).
    verifies_tokens: bool = True
    memory_mb: int = 256
    timeout_s: int = 60
    max_instances: int = 10
    # Instances kept warm: no cold start for the first request, billed while idle (an
    # entity's manifest may raise it for the functions it wants warm; infra/README.md, "Cost").
    min_instances: int = 0
    # Push subscription settings (event functions). Pub/Sub waits `ack_deadline_s` for
    # the push to be answered and then delivers again: it must cover `timeout_s`.
    ack_deadline_s: int = 60
    min_backoff_s: int = 10
    max_backoff_s: int = 600
    max_delivery_attempts: int = 5
    # Cloud Scheduler (cron, Asia/Jakarta) for scheduled HTTP functions.
    schedule: str | None = None
    secrets: tuple[str, ...] = field(default=())  # names declared in SECRETS
    # What the function's service account may touch (least privilege, see the module doc).
    firestore: DataAccess = "read_write"
    documents: DataAccess = "none"  # the borrower-documents bucket
    signs_document_urls: bool = False  # signs Storage URLs as itself (IAM signBlob)
    # Publishes other functions' events (the outbox relay): not a producer of its own.
    relays_outbox: bool = False
    # Reads the entity's escrow account and money limits (from the entity's manifest).
    escrow_account: bool = False
    # Reads the entity's funding rules (from the entity's manifest).
    funding_rules: bool = False

    @property
    def entry_point(self) -> str:
        return self.name

    @property
    def client_facing(self) -> bool:
        """Called by client apps over HTTPS (authenticated in code), not by Scheduler or Pub/Sub."""
        return self.kind == "http" and self.schedule is None

    @property
    def source_dir(self) -> str:
        return f"functions/{self.name}"


TOPICS: tuple[Topic, ...] = (
    Topic("loan.submitted", "A borrower submitted a loan application."),
    Topic("loan.scored", "The five-C scorecard decided on an application.", outbound=True),
    Topic(
        "loan.approved",
        "An application was approved and priced (automatically or by review).",
        outbound=True,
    ),
    Topic("loan.rejected", "An application was rejected, with reasons.", outbound=True),
    Topic("loan.offer_accepted", "The borrower accepted the priced offer; funding opens."),
    Topic("loan.cancelled", "The borrower withdrew the application before funding completed."),
    Topic("loan.funded", "Lenders committed the whole principal.", outbound=True),
    Topic("loan.expired", "The funding window closed first; commitments are released."),
    Topic(
        "loan.disbursed",
        "The disbursement is booked: the loan is active and its payout in transit.",
        outbound=True,
    ),
    Topic(
        BUDGET_ALERTS_TOPIC,
        "Cloud Billing's notifications of the entity budget's spend against its thresholds.",
        published_by="Cloud Billing",
    ),
    Topic("deposit.declared", "A lender declared a transfer to the escrow account.", True),
    Topic("deposit.confirmed", "A deposit was confirmed against the bank; money available.", True),
    Topic("deposit.rejected", "admin.finance rejected a declared deposit.", True),
    Topic("withdrawal.requested", "A lender asked to withdraw; the amount is reserved.", True),
    Topic("withdrawal.confirmed", "The bank transfer of a withdrawal was made.", True),
    Topic("withdrawal.rejected", "admin.finance rejected a withdrawal; money available.", True),
    Topic("withdrawal.returned", "The bank returned a withdrawal; the money is available.", True),
    Topic("statement.imported", "A bank statement of the escrow account was imported.", True),
    Topic("ledger.adjusted", "A manual adjusting entry was approved and posted.", True),
    Topic("ledger.reconciled", "A reconciliation of the ledger against the bank finished.", True),
    Topic("payment.received", "A borrower paid into their loan's virtual account."),
    Topic("installment.paid", "A payment was allocated to a loan's installments."),
    Topic("loan.repaid", "Everything owed on a loan has been paid.", outbound=True),
    # The collections function reminds the borrower and the lenders, within the contact hours.
    Topic("installment.due_soon", "An installment falls due in three days."),
    Topic("installment.overdue", "An installment was not paid by its due date."),
    Topic("loan.maturing", "A loan's final installment falls due in three days."),
    Topic("loan.written_off", "A loan was written off; its lenders bear the loss.", outbound=True),
)

SECRETS: tuple[Secret, ...] = (
    Secret(
        PII_ENCRYPTION,
        "32 random bytes (base64) protecting NIK, NPWP and bank account numbers at rest.",
        "PATUNGAN_PII_KEY",
        # What the previous key sealed stays readable until it is re-encrypted.
        previous_env_var="PATUNGAN_PII_KEY_PREVIOUS",
    ),
    Secret(
        PII_LOOKUP,
        "32 random bytes (base64) keying the lookup hashes of NIK, NPWP and account numbers.",
        "PATUNGAN_PII_LOOKUP_KEY",
    ),
    Secret(
        "provider-api-key",
        "API key for the external credit-data providers that scoring calls.",
        "PATUNGAN_PROVIDER_API_KEY",
    ),
    Secret(
        "ops-webhook-url",
        "The ops channel's incoming-webhook URL (Google Chat or Slack; it embeds its key).",
        "PATUNGAN_OPS_WEBHOOK_URL",
    ),
    Secret(
        "notifications-url",
        "The notification service's intake URL (it embeds its key): reminders to borrowers "
        "and lenders.",
        "PATUNGAN_NOTIFICATIONS_URL",
    ),
    Secret(
        "payment-webhook-hmac-key",
        "Key the payment gateway signs its virtual-account webhooks with (HMAC).",
        "PATUNGAN_PAYMENT_WEBHOOK_HMAC_KEY",
        # The gateway switches keys on its own schedule: both verify until it has.
        previous_env_var="PATUNGAN_PAYMENT_WEBHOOK_HMAC_KEY_PREVIOUS",
    ),
    Secret(
        "payment-gateway-api-key",
        "API key for the payment gateway's API (issuing virtual accounts).",
        "PATUNGAN_PAYMENT_GATEWAY_API_KEY",
    ),
)

FUNCTIONS: tuple[Function, ...] = (
    Function(
        "users",
        "http",
        "Register borrowers and lenders; admins manage users and roles.",
        serves="everyone",
        # The provider key: registration checks identity with the civil registry.
        secrets=(*PII_SECRETS, "provider-api-key"),
    ),
    Function(
        "loan_quote",
        "http",
        "Public loan calculator: schedule, totals and cap check.",
        public=True,
        max_instances=20,
        firestore="read",
    ),
    Function(
        "loan_applications",
        "http",
        "Borrowers submit, read, accept, cancel applications and upload documents.",
        publishes=("loan.submitted", "loan.offer_accepted", "loan.cancelled"),
        documents="read_write",
        signs_document_urls=True,
    ),
    Function(
        "scoring",
        "event",
        "Five-C credit scoring of a submitted application.",
        consumes=("loan.submitted",),
        publishes=("loan.scored", "loan.approved", "loan.rejected"),
        memory_mb=512,
        timeout_s=120,
        ack_deadline_s=120,  # no second delivery while a slow scoring still runs
        # The PII key: the providers are asked about the borrower's NIK, stored encrypted.
        secrets=("provider-api-key", *PII_SECRETS),
    ),
    Function(
        "loan_review",
        "http",
        "The admin.credit review queue: approve or reject with a narrative.",
        publishes=("loan.approved", "loan.rejected"),
    ),
    Function(
        "products",
        "http",
        "admin.super's catalogue: product versions proposed, activated (maker-checker), retired.",
    ),
    Function(
        "lender_tax",
        "http",
        "Lenders file treaty certificates and exemption letters; admin.finance verifies them.",
        serves="lenders",
        documents="read_write",
        signs_document_urls=True,
    ),
    Function(
        "lender_wallet",
        "http",
        "A lender's balances, deposits and withdrawals.",
        serves="lenders",
        publishes=("deposit.declared", "withdrawal.requested"),
        # The PII key: a declared sender account is compared by its keyed hash.
        secrets=PII_SECRETS,
        escrow_account=True,
    ),
    Function(
        "finance",
        "http",
        "admin.finance: deposits, withdrawals, bank statements, manual entries, the ledger.",
        serves="lenders",
        publishes=(
            "deposit.confirmed",
            "deposit.rejected",
            "withdrawal.confirmed",
            "withdrawal.rejected",
            "withdrawal.returned",
            "statement.imported",
            "ledger.adjusted",
        ),
        # The PII key: statement lines name the sender's account, kept encrypted and hashed.
        secrets=PII_SECRETS,
        documents="read_write",  # statement files and manual entries' evidence
        signs_document_urls=True,
        escrow_account=True,
        memory_mb=512,
        timeout_s=300,  # a large statement is imported in chunks within one request
    ),
    Function(
        "reconciliation",
        "http",
        "Daily and on demand: the ledger checked against itself and the bank statement.",
        serves="lenders",
        publishes=("ledger.reconciled",),
        schedule="*/15 * * * *",  # each day once settled, and queued runs within 15 minutes
        timeout_s=540,  # a day of entries; far inside Cloud Scheduler's 30 minutes
        memory_mb=1024,  # a day's entries and every balance, held at once
        max_instances=1,  # one run at a time
    ),
    Function(
        "loan_funding",
        "http",
        "Lenders: the marketplace, the agreements, commitments and their portfolio.",
        serves="lenders",
        publishes=("loan.funded",),
        funding_rules=True,
    ),
    Function(
        "auto_invest",
        "event",
        "Commits for lenders whose auto-invest rules match a loan that opened for funding.",
        consumes=("loan.offer_accepted",),
        publishes=("loan.funded",),
        serves="lenders",
        funding_rules=True,
        timeout_s=300,  # chunks of lenders, far inside the push's ack deadline
        ack_deadline_s=300,
    ),
    Function(
        "funding_release",
        "event",
        "Returns every commitment of a loan that expired or was cancelled to its lenders.",
        consumes=("loan.cancelled", "loan.expired"),
        serves="lenders",
        timeout_s=300,  # a plan over up to max_lenders_per_loan stakes, in chunks
        ack_deadline_s=300,
    ),
    Function(
        "funding_expiry",
        "http",
        "Daily: loans whose funding window closed become expired.",
        serves="lenders",
        publishes=("loan.expired",),
        schedule="10 0 * * *",  # ten past midnight, Jakarta: yesterday's windows have closed
        timeout_s=300,
        max_instances=1,
    ),
    Function(
        "disbursements",
        "http",
        "admin.finance pays funded loans out: requested by one, the transfer confirmed by another.",
        serves="lenders",
        publishes=("loan.disbursed",),
        timeout_s=300,  # a plan over up to max_lenders_per_loan stakes, in chunks
        memory_mb=512,
        # The borrower's account number is decrypted for the bank's account inquiry.
        secrets=(*PII_SECRETS, "provider-api-key"),
    ),
    Function(
        "outbox_relay",
        "http",
        "Every minute: publish outbox events whose producer's own publish failed.",
        # It may relay any event, so it may publish to every topic the platform publishes.
        publishes=tuple(t.name for t in TOPICS if t.published_by is None),
        relays_outbox=True,
        serves="everyone",
        schedule="* * * * *",
        max_instances=1,  # one relay at a time; a second would only publish duplicates
    ),
    Function(
        "ops_alerts",
        "event",
        "Budget notifications to the ops channel, once per threshold per budget period.",
        consumes=(BUDGET_ALERTS_TOPIC,),
        serves="everyone",
        secrets=("ops-webhook-url",),
        # One delivery at a time: two notifications of one threshold never race past the
        # check that it was already sent (Cloud Billing sends several a day).
        max_instances=1,
    ),
    Function(
        "virtual_accounts",
        "http",
        "Borrowers' and lenders' virtual accounts at the payment gateway.",
        secrets=("payment-gateway-api-key",),
    ),
    Function(
        "payment_webhook",
        "http",
        "The payment gateway's signed notices of payments into virtual accounts.",
        public=True,  # no bearer token: the gateway signs every callback (verified in code)
        verifies_tokens=False,
        publishes=("payment.received", "deposit.confirmed"),
        secrets=("payment-webhook-hmac-key",),
        max_instances=20,
    ),
    Function(
        "repayments",
        "event",
        "Applies a loan's payment to its installments, oldest first.",
        consumes=("payment.received",),
        publishes=("installment.paid", "loan.repaid"),
    ),
    Function(
        "billing_split",
        "event",
        "Splits each allocated repayment to the loan's lenders, with fees, VAT and tax.",
        consumes=("installment.paid",),
        serves="lenders",
        timeout_s=300,  # a plan over up to max_lenders_per_loan lenders, in chunks
        ack_deadline_s=300,
        memory_mb=512,
    ),
    Function(
        "treasury",
        "http",
        "admin.finance: gateway settlements, payments in suspense, credit refunds, fees and taxes.",
        serves="everyone",  # every licence takes payments through the gateway and pays taxes
        publishes=("payment.received",),  # a payment in suspense assigned to its loan
    ),
    Function(
        "payoffs",
        "http",
        "Borrowers' early settlement: a payoff quote for their active loan.",
    ),
    Function(
        "overdue_sweep",
        "http",
        "Daily: late fees within the caps, days past due and quality, due and overdue notices.",
        # payment.received: the borrower's credit paying an installment on its due date.
        publishes=(
            "installment.due_soon",
            "installment.overdue",
            "loan.maturing",
            "payment.received",
        ),
        schedule="30 0 * * *",  # half past midnight, Jakarta: yesterday's due dates have passed
        timeout_s=540,
        memory_mb=512,
        max_instances=1,  # one sweep at a time
    ),
    Function(
        "write_offs",
        "http",
        "A loan past its write-off threshold: proposed by admin.credit, confirmed by "
        "admin.finance.",
        serves="lenders",
        publishes=("loan.written_off",),
        timeout_s=300,  # a plan over up to max_lenders_per_loan stakes, in chunks
        memory_mb=512,
    ),
    Function(
        "collections",
        "event",
        "Reminds the borrower of installments due soon or overdue and the lenders of a "
        "maturing loan, within the contact hours; sends those due now.",
        consumes=("installment.due_soon", "installment.overdue", "loan.maturing"),
        secrets=("notifications-url",),
        timeout_s=300,  # a loan's lenders in chunks, and the sends due right away
        ack_deadline_s=300,
    ),
    Function(
        "collections_dispatch",
        "http",
        "Every 15 minutes: sends the pending reminders whose contact hours have come.",
        secrets=("notifications-url",),
        schedule="*/15 * * * *",  # 08:00 WIB, WITA and WIT all fall on a quarter hour
        timeout_s=540,
        max_instances=1,  # one run at a time (a second would only repeat sends)
    ),
)


def function(name: str) -> Function:
    for fn in FUNCTIONS:
        if fn.name == name:
            return fn
    raise KeyError(f"no function named {name!r} in the topology")


def topic(name: str) -> Topic:
    for t in TOPICS:
        if t.name == name:
            return t
    raise KeyError(f"no topic named {name!r} in the topology")


def secret(name: str) -> Secret:
    for declared in SECRETS:
        if declared.name == name:
            return declared
    raise KeyError(f"no secret named {name!r} in the topology")


def deployed_under(
    licence: str, functions: tuple[Function, ...] = FUNCTIONS
) -> tuple[Function, ...]:
    """The functions an entity holding `licence` deploys, in declaration order."""
    if licence not in SERVED_UNDER:
        raise KeyError(f"no OJK licence named {licence!r} (known: {', '.join(SERVED_UNDER)})")
    served = SERVED_UNDER[licence]
    return tuple(fn for fn in functions if fn.serves == "everyone" or fn.serves in served)


def local_port(fn: Function) -> int:
    return LOCAL_FUNCTION_PORT_BASE + FUNCTIONS.index(fn)


def validate_topology(
    functions: tuple[Function, ...] = FUNCTIONS,
    topics: tuple[Topic, ...] = TOPICS,
    secrets: tuple[Secret, ...] = SECRETS,
) -> list[str]:
    """Every problem with the declaration, as sentences; an empty list means it is sound."""
    errors: list[str] = []
    secret_names = [s.name for s in secrets]
    for dup in sorted({n for n in secret_names if secret_names.count(n) > 1}):
        errors.append(f"secret {dup!r} is declared more than once")
    names = [fn.name for fn in functions]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        errors.append(f"function name {dup!r} is declared more than once")
    topic_names = [t.name for t in topics]
    for dup in sorted({n for n in topic_names if topic_names.count(n) > 1}):
        errors.append(f"topic {dup!r} is declared more than once")
    known = set(topic_names)
    external = {t.name: t.published_by for t in topics if t.published_by is not None}
    consumed = {t for fn in functions for t in fn.consumes}
    published = _produced(functions) | set(external)
    for fn in functions:
        if not fn.name.isidentifier():
            errors.append(f"function name {fn.name!r} is not a Python identifier")
        if fn.kind == "event" and not fn.consumes:
            errors.append(f"event function {fn.name!r} consumes no topic")
        if fn.kind == "http" and fn.consumes:
            errors.append(f"http function {fn.name!r} cannot consume a topic")
        if len(set(fn.consumes)) != len(fn.consumes):
            errors.append(f"{fn.name!r} consumes a topic twice")
        if fn.public and fn.kind != "http":
            errors.append(f"only http functions can be public ({fn.name!r})")
        if fn.serves not in SERVES:
            errors.append(f"{fn.name!r} serves {fn.serves!r}; choose one of {', '.join(SERVES)}")
        if not 0 <= fn.min_instances <= fn.max_instances:
            errors.append(
                f"{fn.name!r}: min instances {fn.min_instances} must be within 0..max "
                f"instances {fn.max_instances}"
            )
        for used in (*fn.consumes, *fn.publishes):
            if used not in known:
                errors.append(f"{fn.name!r} uses undeclared topic {used!r}")
        for used in fn.publishes:
            if used in external:
                errors.append(f"{fn.name!r} publishes {used!r}, which {external[used]} publishes")
        if fn.min_backoff_s > fn.max_backoff_s:
            errors.append(f"{fn.name!r}: min backoff exceeds max backoff")
        if not 5 <= fn.max_delivery_attempts <= 100:
            errors.append(f"{fn.name!r}: Pub/Sub allows 5..100 delivery attempts")
        if fn.kind == "event":
            if not 10 <= fn.ack_deadline_s <= 600:
                errors.append(f"{fn.name!r}: Pub/Sub allows ack deadlines of 10..600 s")
            if fn.ack_deadline_s < fn.timeout_s:
                errors.append(
                    f"{fn.name!r}: ack deadline {fn.ack_deadline_s} s is shorter than its "
                    f"timeout {fn.timeout_s} s, so Pub/Sub would deliver again while it still runs"
                )
        for name in fn.secrets:
            if name not in secret_names:
                errors.append(f"{fn.name!r} reads undeclared secret {name!r}")
        if PII_ENCRYPTION in fn.secrets and PII_LOOKUP not in fn.secrets:
            errors.append(
                f"{fn.name!r} reads {PII_ENCRYPTION!r} without {PII_LOOKUP!r}: "
                "its lookup hashes would change when the encryption key rotates"
            )
        if fn.schedule and fn.kind != "http":
            errors.append(f"only http functions can be scheduled ({fn.name!r})")
        if fn.schedule and fn.public:
            errors.append(f"a scheduled function cannot be public ({fn.name!r})")
        if fn.schedule and fn.max_delivery_attempts > 6:
            # Its Scheduler job retries `max_delivery_attempts - 1` times; Scheduler allows 0..5.
            errors.append(f"{fn.name!r}: Cloud Scheduler runs a job at most 6 times")
        if fn.signs_document_urls and fn.documents == "none":
            errors.append(f"{fn.name!r} signs document URLs but has no access to documents")
    for t in topics:
        if t.name not in published:
            errors.append(f"topic {t.name!r} has no producer")
        if t.name not in consumed and not t.outbound:
            errors.append(f"topic {t.name!r} has no consumer and is not declared outbound")
    for licence in SERVED_UNDER:
        deployed = deployed_under(licence, functions)
        produced_here = _produced(deployed) | set(external)
        for fn in deployed:
            for used in fn.consumes:
                if used in published and used not in produced_here:
                    errors.append(
                        f"under licence {licence!r}, {fn.name!r} consumes {used!r}, which no "
                        "function that licence deploys publishes"
                    )
    return errors


def _produced(functions: tuple[Function, ...]) -> set[str]:
    # The relay publishes what others emitted: it makes no topic "produced".
    return {t for fn in functions if not fn.relays_outbox for t in fn.publishes}
