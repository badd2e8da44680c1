"""A Google Cloud Pub/Sub emulator in Python that the real `google-cloud-pubsub` client uses.

Run it with `python -m emulators.pubsub --port 8085` and point clients at it
with `PUBSUB_EMULATOR_HOST=127.0.0.1:8085`. Modules:

- `broker`: topics, subscriptions, leases, retry backoff, dead letters, ordering.
- `filters`: the subscription filter language.
- `service`: the gRPC Publisher and Subscriber services.
- `push`: push delivery over HTTP (the body functions-framework understands).
- `admin`: reset, stats and fault injection over HTTP (gRPC port + 1).
- `faults`: what fault injection can do.
- `emulator`: all of the above assembled; `__main__`: the process.

See emulators/README.md for what is supported and how it differs from production.
"""
