"""Query explain (`explain_options`): the plan and execution statistics, in production's shape.

`RunQuery` and `RunAggregationQuery` with `explain_options` answer as production does:

- `analyze: false`: no results, one response whose `explain_metrics.plan_summary`
  lists the index the query uses;
- `analyze: true`: the results as usual, then a last response carrying the plan and
  `execution_stats` (`results_returned`, `execution_duration`, `read_operations`
  and `debug_stats` with `documents_scanned`, `index_entries_scanned` and
  `billing_details`).

The plan names the index production would use for the query, in production's
notation: `{"query_scope": "Collection", "properties": "(status ASC, rate DESC,
__name__ DESC)"}`, equality fields first, then the query's order. The emulator
itself scans every document of the query's scope (it keeps no indexes), so
`documents_scanned` and `index_entries_scanned` count that scan, and
`read_operations` is what production bills: one read per document returned, at
least one per query; one per 1,000 index entries for an aggregation.
"""

from __future__ import annotations

import math
from typing import Any

from google.cloud.firestore_v1.types import query as query_types
from google.cloud.firestore_v1.types import query_profile
from google.protobuf import struct_pb2

from emulators.firestore import fieldpaths
from emulators.firestore.queries import CompiledQuery

_ExplainMetrics = query_profile.ExplainMetrics.pb()
_FieldOp = query_types.StructuredQuery.FieldFilter.Operator
_CompositeOp = query_types.StructuredQuery.CompositeFilter.Operator
_EQUALITY = {int(_FieldOp.EQUAL): "ASC", int(_FieldOp.IN): "ASC"}
_CONTAINS = {int(_FieldOp.ARRAY_CONTAINS), int(_FieldOp.ARRAY_CONTAINS_ANY)}


def _equality_fields(filter_pb: Any) -> list[tuple[str, str]]:
    kind = filter_pb.WhichOneof("filter_type")
    if kind == "field_filter":
        field_filter = filter_pb.field_filter
        op = int(field_filter.op)
        path = field_filter.field.field_path
        if op in _EQUALITY:
            return [(path, _EQUALITY[op])]
        if op in _CONTAINS:
            return [(path, "CONTAINS")]
        return []
    if kind == "composite_filter" and int(filter_pb.composite_filter.op) == _CompositeOp.AND:
        return [
            pair for child in filter_pb.composite_filter.filters for pair in _equality_fields(child)
        ]
    return []


def _index(structured_query: Any, query: CompiledQuery) -> dict[str, str]:
    scope = "Collection group" if query.scope.all_descendants else "Collection"
    if query.nearest is not None:
        field = fieldpaths.render(query.nearest.field)
        dimension = len(query.nearest.query_vector)
        return {"query_scope": scope, "properties": f"({field} VECTOR<{dimension}>)"}
    parts: list[str] = []
    seen: set[str] = set()
    if structured_query.HasField("where"):
        for raw_path, mode in _equality_fields(structured_query.where):
            rendered = fieldpaths.render(fieldpaths.parse(raw_path))
            if rendered not in seen:
                seen.add(rendered)
                parts.append(f"{rendered} {mode}")
    for order_path, descending in query.orders:
        rendered = fieldpaths.render(order_path)
        if rendered not in seen:
            seen.add(rendered)
            parts.append(f"{rendered} {'DESC' if descending else 'ASC'}")
    return {"query_scope": scope, "properties": "(" + ", ".join(parts) + ")"}


def metrics(
    structured_query: Any,
    query: CompiledQuery,
    *,
    stats: tuple[int, float, int, int] | None = None,
    aggregation: bool = False,
) -> Any:
    """`ExplainMetrics`: the plan, and with `stats` (returned, seconds, scanned, entries)
    the execution statistics."""
    explained = _ExplainMetrics()
    index = struct_pb2.Struct()
    index.update(_index(structured_query, query))
    explained.plan_summary.indexes_used.append(index)
    if stats is None:
        return explained
    returned, seconds, documents_scanned, entries_scanned = stats
    execution = explained.execution_stats
    execution.results_returned = returned
    execution.execution_duration.FromNanoseconds(int(seconds * 1e9))
    billed = math.ceil(entries_scanned / 1000) if aggregation else returned
    execution.read_operations = max(1, billed)  # a query costs at least one read
    execution.debug_stats.update(
        {
            "documents_scanned": str(0 if aggregation else documents_scanned),
            "index_entries_scanned": str(entries_scanned),
            "billing_details": {
                "documents_billable": str(0 if aggregation else returned),
                "index_entries_billable": str(entries_scanned if aggregation else 0),
                "small_ops": "0",
                "min_query_cost": str(1 if billed == 0 else 0),
            },
        }
    )
    return explained
