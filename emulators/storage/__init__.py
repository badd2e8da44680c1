"""Cloud Storage on localhost: fake-gcs-server under the Patungan emulator conventions.

- `__main__`: `python -m emulators.storage`, the process (flags, notifications).
- `binary`: where the bundled fake-gcs-server executable lives.
- `supervisor`: run a foreign emulator binary with a READY line and clean stops
  (also used to wrap the official gcloud emulators).
"""
