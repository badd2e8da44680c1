"""A local sandbox standing in for the ops team's chat channel (Google Chat, Slack).

``python -m emulators.sandboxes.ops_notifications --host 127.0.0.1 --port 8091`` accepts
messages as an incoming webhook does (``POST /webhooks/<name>`` with a JSON body such as
``{"text": "..."}``), keeps every one it was sent, and shows them over HTTP
(``GET /messages``), so a developer sees what ops would have read. It also stands in for
the notification service that reaches borrowers and lenders (``POST /v1/notifications``,
once per idempotency key; ``GET /v1/notifications`` lists what was delivered to whom and
when). Failures can be injected to see a sender retry (see README.md in this folder).
"""

from __future__ import annotations

DEFAULT_PORT = 8091
