"""What the ops scripts read, like a function does: `scripts/bootstrap_admin.py`
(`BootstrapSettings`) and `scripts/reencrypt_pii.py` (`PiiRotationSettings`)."""

from __future__ import annotations

from shared.settings.pii import PiiSettings


class BootstrapSettings(PiiSettings):
    """`scripts/bootstrap_admin.py`: Firestore and the PII key (ops, not a function)."""


class PiiRotationSettings(PiiSettings):
    """`scripts/reencrypt_pii.py`: Firestore and the PII keys, the previous one included
    (ops, not a function)."""
