"""The HTTP and event edge shared by every function (parse → authorize → call → respond).

- `router`: `Router`, `Call`, `HttpServices` — routes inside one HTTP function.
- `events`: `EventConsumer`, `Delivery`, `EventServices` — Pub/Sub push consumers.
- `problems`: exceptions → RFC 9457 problem documents, in one table.
- `guard`: bearer-token authentication and roles.
- `lazy`: `Lazy`, dependencies built on first use.
- `wiring`: `http_services` / `event_services`, those dependencies built from settings.
- `openapi`: the OpenAPI 3.1 document built from the routers.

Nothing here imports a Google client; adapters are built by the function's
`Lazy` builder on its first request.
"""
