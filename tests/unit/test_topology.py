"""The topology declaration is sound, and its validator catches what would break wiring."""

from dataclasses import replace

from shared import topology
from shared.topology import FUNCTIONS, TOPICS, Function, Topic, validate_topology


def test_declared_topology_is_sound():
    assert validate_topology() == []


def test_every_function_has_a_folder_name_that_is_its_entry_point():
    for fn in FUNCTIONS:
        assert fn.entry_point == fn.name
        assert fn.source_dir == f"functions/{fn.name}"


def test_local_ports_are_unique_and_clear_of_the_emulators():
    ports = [topology.local_port(fn) for fn in FUNCTIONS]
    assert len(set(ports)) == len(ports)
    assert not set(ports) & {8080, 8081, 8085, 8086, 4443, 8090, 8091, 8092}


def test_a_published_topic_without_consumer_must_be_declared_outbound():
    topics = (*TOPICS, Topic("loan.orphaned", "nobody listens"))
    functions = (*FUNCTIONS, Function("orphan_maker", "http", "x", publishes=("loan.orphaned",)))
    assert validate_topology(functions, topics) == [
        "topic 'loan.orphaned' has no consumer and is not declared outbound"
    ]


def test_a_consumed_topic_without_producer_is_reported():
    topics = (*TOPICS, Topic("loan.ghost", "nobody publishes"))
    functions = (*FUNCTIONS, Function("ghost_reader", "event", "x", consumes=("loan.ghost",)))
    assert validate_topology(functions, topics) == ["topic 'loan.ghost' has no producer"]


def test_duplicate_names_undeclared_topics_and_bad_settings_are_reported():
    scoring = topology.function("scoring")
    broken = (
        *FUNCTIONS,
        replace(scoring),  # same name twice
        Function("bad_http", "http", "x", consumes=("loan.submitted",)),
        Function("bad_event", "event", "x"),
        Function("bad_topic", "http", "x", publishes=("loan.unknown",)),
        Function(
            "bad_retry",
            "event",
            "x",
            consumes=("loan.submitted",),
            min_backoff_s=60,
            max_backoff_s=10,
            max_delivery_attempts=3,
        ),
        Function("public_event", "event", "x", consumes=("loan.submitted",), public=True),
        Function("twice", "event", "x", consumes=("loan.submitted", "loan.submitted")),
        Function("too_warm", "http", "x", min_instances=3, max_instances=2),
        replace(scoring, name="serves_nobody", serves="auditors"),  # type: ignore[arg-type]
    )
    errors = validate_topology(broken, TOPICS)
    assert "function name 'scoring' is declared more than once" in errors
    assert "http function 'bad_http' cannot consume a topic" in errors
    assert "event function 'bad_event' consumes no topic" in errors
    assert "'bad_topic' uses undeclared topic 'loan.unknown'" in errors
    assert "'bad_retry': min backoff exceeds max backoff" in errors
    assert "'bad_retry': Pub/Sub allows 5..100 delivery attempts" in errors
    assert "only http functions can be public ('public_event')" in errors
    assert "'twice' consumes a topic twice" in errors
    assert "'too_warm': min instances 3 must be within 0..max instances 2" in errors
    assert "'serves_nobody' serves 'auditors'; choose one of borrowers, lenders, everyone" in errors


def test_lookups_name_what_is_missing():
    import pytest

    with pytest.raises(KeyError, match="no function named 'nope'"):
        topology.function("nope")
    with pytest.raises(KeyError, match="no topic named 'nope'"):
        topology.topic("nope")


def test_the_outbox_relay_may_publish_every_topic_every_minute_but_produces_none():
    relay = topology.function("outbox_relay")
    platform_topics = {t.name for t in TOPICS if t.published_by is None}
    assert relay.relays_outbox and set(relay.publishes) == platform_topics
    assert relay.schedule == "* * * * *" and not relay.client_facing
    assert relay.firestore == "read_write"  # it marks what it published
    # Relaying what others emitted makes no topic produced: a consumer without a real
    # producer is still reported, although the relay may publish to its topic.
    topics = (*TOPICS, Topic("loan.ghost", "nobody publishes"))
    relay_everything = replace(
        relay, publishes=tuple(t.name for t in topics if t.published_by is None)
    )
    functions = (
        *(fn for fn in FUNCTIONS if fn is not relay),
        relay_everything,
        Function("ghost_reader", "event", "x", consumes=("loan.ghost",)),
    )
    assert validate_topology(functions, topics) == ["topic 'loan.ghost' has no producer"]


def test_every_licence_deploys_the_borrowers_side_and_only_p2p_and_cooperatives_the_lenders():
    lender = Function("lender_portfolio", "http", "x", serves="lenders")
    functions = (*FUNCTIONS, lender)
    everywhere = {fn.name for fn in functions if fn.serves != "lenders"}
    assert "lender_tax" not in everywhere  # the lenders' tax documents
    for licence in ("lpbbti", "koperasi_sektor_jasa_keuangan"):
        assert {fn.name for fn in topology.deployed_under(licence, functions)} == {
            fn.name for fn in functions
        }
    for licence in ("bank_umum", "bpr", "lkm"):
        assert {fn.name for fn in topology.deployed_under(licence, functions)} == everywhere
    assert set(topology.SERVED_UNDER) == {
        "lpbbti",
        "koperasi_sektor_jasa_keuangan",
        "bank_umum",
        "bpr",
        "lkm",
    }


def test_an_unknown_licence_is_named():
    import pytest

    with pytest.raises(KeyError, match="no OJK licence named 'casino'"):
        topology.deployed_under("casino")


def test_a_consumer_a_licence_deploys_without_its_producer_is_reported():
    # Lenders fund through `loan_funding` and `auto_invest`, which publish `loan.funded`; a
    # borrower-side consumer of it would wait forever in a bank, which deploys no lender
    # functions.
    functions = (
        *FUNCTIONS,
        Function("funded_notice", "event", "x", consumes=("loan.funded",)),
    )
    topics = TOPICS
    assert validate_topology(functions, topics) == [
        f"under licence {licence!r}, 'funded_notice' consumes 'loan.funded', which no "
        "function that licence deploys publishes"
        for licence in ("bank_umum", "bpr", "lkm")
    ]


def test_a_topic_published_from_outside_counts_as_produced_and_no_function_may_publish_it():
    outside = Topic("billing.other-alerts", "from afar", published_by="Cloud Billing")
    listener = Function("listener", "event", "x", consumes=("billing.other-alerts",))
    # Consumed and published by someone else: sound, under every licence.
    assert validate_topology((*FUNCTIONS, listener), (*TOPICS, outside)) == []
    impostor = Function("impostor", "http", "x", publishes=("billing.other-alerts",))
    assert validate_topology((*FUNCTIONS, listener, impostor), (*TOPICS, outside)) == [
        "'impostor' publishes 'billing.other-alerts', which Cloud Billing publishes"
    ]


def test_the_budget_topic_is_cloud_billings_and_ops_alerts_consumes_it_everywhere():
    budget = topology.topic(topology.BUDGET_ALERTS_TOPIC)
    assert budget.published_by == "Cloud Billing"
    ops_alerts = topology.function("ops_alerts")
    assert ops_alerts.consumes == (topology.BUDGET_ALERTS_TOPIC,)
    assert ops_alerts.serves == "everyone"  # every entity has a budget
    relay = topology.function("outbox_relay")
    assert topology.BUDGET_ALERTS_TOPIC not in relay.publishes  # not a platform event


def test_a_function_holding_personal_data_mounts_the_lookup_key_with_the_encryption_key():
    # Without it, its hashes would follow the encryption key, which rotates.
    partial = Function("pii_reader", "http", "x", secrets=("pii-encryption-key",))
    assert validate_topology((*FUNCTIONS, partial)) == [
        "'pii_reader' reads 'pii-encryption-key' without 'pii-lookup-key': "
        "its lookup hashes would change when the encryption key rotates"
    ]
    both = Function("pii_reader", "http", "x", secrets=("pii-encryption-key", "pii-lookup-key"))
    assert validate_topology((*FUNCTIONS, both)) == []
