"""Cloud Storage on localhost: fake-gcs-server under the Patungan emulator conventions.

- `__main__`: `python -m emulators.storage`, the process (flags, notifications).
- `binary`: where the bundled fake-gcs-server executable lives.

The binary runs under `emulators.supervisor.supervise`, which prints the READY line
and stops it (also when this process is killed or its parent dies).
"""
