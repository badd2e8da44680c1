"""A Firestore emulator with serializable transactions, for local runs and tests.

The real `google-cloud-firestore` client talks to it unchanged through
`FIRESTORE_EMULATOR_HOST`. Start it with `python -m emulators.firestore`
(see `__main__.py` and README.md); in tests use the `firestore_emulator`
fixture from `tests/fixtures/firestore_emulator.py`.

Modules, from the wire inwards: `server` (process assembly), `service` (gRPC),
`admin` (HTTP admin), `engine` (RPC behaviour), `listen` (real-time
listeners), `transactions` (locks,
wound-wait), `writes`, `limits` (production's limits), `faults` (commit
faults), `queries`, `vectors` (find_nearest), `explain`, `storage`
(versions), `values`,
`fieldpaths`, `resources`, `stats`, `persistence`, `errors`.
"""
