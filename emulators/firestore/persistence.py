"""Optional `--data-dir`: load documents on start, save them on clean shutdown.

The file `<data-dir>/firestore-documents.json` holds the latest version of
every document of every database, in the proto3 JSON form of
`google.firestore.v1.Document` (typed values, timestamps kept). Version
history and open transactions are not saved. The file is written to a
temporary name and renamed, so a crash while saving leaves the previous one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from google.cloud.firestore_v1.types import document
from google.protobuf import json_format

from emulators.firestore.engine import FirestoreEngine
from emulators.firestore.resources import DatabaseId

FILE_NAME = "firestore-documents.json"
FORMAT = "patungan-firestore-emulator/1"


def data_file(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def load(engine: FirestoreEngine, data_dir: Path) -> int:
    """Load saved documents into the engine; returns how many were loaded."""
    path = data_file(data_dir)
    if not path.exists():
        return 0
    saved = json.loads(path.read_text(encoding="utf-8"))
    if saved.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} file")
    loaded = 0
    document_type = document.Document.pb()
    for entry in saved["databases"]:
        database = DatabaseId(entry["project"], entry["database"])
        docs = [json_format.ParseDict(raw, document_type()) for raw in entry["documents"]]
        engine.import_documents(database, docs)
        loaded += len(docs)
    return loaded


def save(engine: FirestoreEngine, data_dir: Path) -> int:
    """Write every live document to the data directory; returns how many were saved."""
    data_dir.mkdir(parents=True, exist_ok=True)
    databases: list[dict[str, Any]] = []
    saved = 0
    for database, docs in sorted(
        engine.export_documents().items(), key=lambda item: (item[0].project, item[0].database)
    ):
        databases.append(
            {
                "project": database.project,
                "database": database.database,
                "documents": [
                    json_format.MessageToDict(doc, preserving_proto_field_name=True)
                    for doc in sorted(docs, key=lambda doc: doc.name)
                ],
            }
        )
        saved += len(docs)
    path = data_file(data_dir)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(
        json.dumps({"format": FORMAT, "databases": databases}, indent=1), encoding="utf-8"
    )
    os.replace(temporary, path)
    return saved
