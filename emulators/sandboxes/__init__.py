"""Local stand-ins for third-party services the platform calls: the credit-data providers
(`providers`) and the ops team's chat channel (`ops_notifications`).

Google's services (`emulators.firestore`, `emulators.pubsub`, `emulators.storage`)
speak Google's wire protocols; the sandboxes here speak each third party's HTTP API
with deterministic test data of their own.
"""
