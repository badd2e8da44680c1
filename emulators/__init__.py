"""Local, wire-compatible stand-ins for Firestore, Pub/Sub and Cloud Storage, and sandboxes.

Distributed as `patungan-emulators` (pyproject.toml beside this file; README.md
says what each emulator serves).
"""

__version__ = "0.1.0"
