"""Admin HTTP endpoint of the Pub/Sub emulator (the gRPC port + 1 by default).

Not part of the Pub/Sub API: it lets tests and developers inspect and steer
the emulator. Every body is JSON.

    GET    /healthz                         {"status": "ok"}
    POST   /reset                           forget everything; body {"project": p} for one project
    GET    /stats                           {"subscriptions": {name: stats, ...},
                                             "topics": {name: topic stats, ...}}
    GET    /stats/projects/P/subscriptions/S    stats of one subscription (404 if unknown)
    GET    /stats/projects/P/topics/T       stats of one topic (404 if unknown)
    GET    /faults                          {"default": plan | null, "subscriptions": {name: plan},
                                             "publish": [publish fault, ...]}
    PUT    /faults                          set a plan {"deliver_times": N,
                                            "redeliver_fraction": f, "delay_seconds": d,
                                            "seed": s, "subscription": name?}; without
                                            "subscription" it applies to every subscription,
                                            present and future
    PUT    /faults {"publish": {...}}       refuse Publish calls: {"topic": name?,
                                            "topic_prefix": p?, "code": "PERMISSION_DENIED",
                                            "count": N | null} (faults.PublishFault)
    DELETE /faults[?subscription=name]      remove every plan and publish fault, or one
                                            subscription's plan
    DELETE /faults?topic=name|topic_prefix=p    remove that publish fault
    DELETE /faults?publish=all              remove every publish fault, no plan

Stats per subscription: `published` (messages that reached it), `filtered_out`,
`delivered` (deliveries, including redeliveries), `acknowledged`, `nacked`
(nacks and refused pushes), `expired` (ack deadlines missed), `dead_lettered`,
`duplicates_injected`, `backlog` (not yet acknowledged), `outstanding`
(leased now), `oldest_unacked_age_seconds` and `last_push_error`. Stats per
topic: `published` (messages accepted), `refused_publishes` (Publish calls a
publish fault refused) and `refused_messages` (the messages they carried).
"""

from __future__ import annotations

from http import HTTPStatus

from emulators.json_http import BadRequest, JsonHandler, JsonServer
from emulators.pubsub.broker import Broker, BrokerError, Status
from emulators.pubsub.faults import FaultPlan, FaultPlanError, PublishFault


def admin_server(broker: Broker, host: str, port: int) -> JsonServer:
    """The admin endpoint for `broker`, bound to host:port (not yet serving)."""

    class AdminHandler(JsonHandler):
        server_version = "PubSubEmulatorAdmin/1"

        def route(self, method: str, path: list[str], query: dict[str, str]) -> None:
            try:
                self._route(method, path, query)
            except FaultPlanError as exc:
                raise BadRequest(str(exc)) from None
            except BrokerError as exc:
                if exc.status is not Status.NOT_FOUND:
                    raise BadRequest(exc.message) from None
                self.reply(HTTPStatus.NOT_FOUND, {"error": exc.message})

        def _route(self, method: str, path: list[str], query: dict[str, str]) -> None:
            match method, path:
                case "GET", ["healthz"]:
                    self.reply(HTTPStatus.OK, {"status": "ok"})
                case "POST", ["reset"]:
                    project = self._optional_string("project")
                    broker.reset(project)
                    self.reply(HTTPStatus.OK, {"reset": project or "all"})
                case "GET", ["stats"]:
                    self.reply(
                        HTTPStatus.OK,
                        {"subscriptions": broker.stats(), "topics": broker.topic_stats()},
                    )
                case "GET", ["stats", "projects", _, "topics", *_]:
                    self.reply(HTTPStatus.OK, broker.topic_stats("/".join(path[1:])))
                case "GET", ["stats", *subscription]:
                    self.reply(HTTPStatus.OK, broker.stats("/".join(subscription)))
                case "GET", ["faults"]:
                    self.reply(HTTPStatus.OK, broker.faults())
                case "PUT" | "POST", ["faults"] if "publish" in self.body:
                    if set(self.body) != {"publish"}:
                        raise BadRequest("a publish fault is set on its own, without other fields")
                    broker.set_publish_fault(PublishFault.from_json(self.body["publish"]))
                    self.reply(HTTPStatus.OK, broker.faults())
                case "PUT" | "POST", ["faults"]:
                    scope = self._optional_string("subscription")
                    self.body.pop("subscription", None)
                    broker.set_faults(FaultPlan.from_json(self.body), scope)
                    self.reply(HTTPStatus.OK, broker.faults())
                case "DELETE", ["faults"] if query.get("publish") == "all":
                    broker.clear_publish_faults()
                    self.reply(HTTPStatus.OK, broker.faults())
                case "DELETE", ["faults"] if "topic" in query or "topic_prefix" in query:
                    broker.clear_publish_faults(
                        topic=query.get("topic"), topic_prefix=query.get("topic_prefix")
                    )
                    self.reply(HTTPStatus.OK, broker.faults())
                case "DELETE", ["faults"] if "subscription" in query:
                    broker.set_faults(None, query["subscription"])
                    self.reply(HTTPStatus.OK, broker.faults())
                case "DELETE", ["faults"]:
                    broker.set_faults(None)
                    broker.clear_publish_faults()
                    self.reply(HTTPStatus.OK, broker.faults())
                case _:
                    self.no_route()

        def _optional_string(self, name: str) -> str | None:
            value = self.body.get(name)
            if value is not None and not isinstance(value, str):
                raise BadRequest(f"{name} must be a string")
            return value

    return JsonServer((host, port), AdminHandler)
