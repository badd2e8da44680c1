"""The PII re-encryption on the Firestore emulator: its page query (`id` after the last one,
in id order) and its one-transaction pages as Firestore runs them."""

from __future__ import annotations

import pytest

from shared.adapters.firestore import FirestoreUnitOfWork
from shared.adapters.memory import RecordingPublisher
from tests.unit.ops.test_pii_rotation import (  # noqa: F401  (collected here, on Firestore)
    test_a_run_resumes_after_the_last_user_it_reported,
    test_a_second_run_changes_nothing_and_a_check_writes_nothing,
    test_a_value_no_configured_key_opens_stops_the_run_by_name_after_the_pages_before,
    test_every_sealed_value_ends_under_the_new_key_and_reads_as_before,
)

pytestmark = pytest.mark.emulator


@pytest.fixture
def uow(firestore_client) -> FirestoreUnitOfWork:
    return FirestoreUnitOfWork(firestore_client, RecordingPublisher())
