"""The trainer's command line: export the training table, then train the next version.

    python -m trainer export --out table.csv [--as-of 2026-06-30] [--page-size 500]
    python -m trainer train --table table.csv --previous v1 \
        --out shared/domain/scorecards/v2.json [--model-card path.md]

`export` reads the platform's Firestore like a function does, from the
environment: `PATUNGAN_ENV`, `PATUNGAN_ENTITY`, `PATUNGAN_GCP_PROJECT` and,
locally, `FIRESTORE_EMULATOR_HOST` (in a Google Cloud project it runs with the
analyst's application-default credentials, which need read access to
Firestore). It prints a progress line as pages come in and a JSON summary at
the end; the table appears only once it is complete.

`train` holds out 30% of the loans, fits the card on the rest, and writes the
scorecard file (`v<N>.json`, a version that does not exist yet) and its model
card (Markdown; beside the file unless `--model-card` says otherwise).

Exit status: 0 done, 1 refused (the data cannot give a card, or the
configuration is incomplete), 2 a bad command line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")
VERSION = re.compile(r"v([1-9]\d*)")
VERSION_FILE = re.compile(r"v([1-9]\d*)\.json")


def _today() -> date:
    return datetime.now(JAKARTA).date()


def _say(line: str) -> None:
    print(f"trainer: {line}", file=sys.stderr, flush=True)  # noqa: T201 - progress for people


@contextmanager
def _replacing(path: Path) -> Iterator[IO[str]]:
    """Write a new file in place of `path` only once the writing finished."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _export(args: argparse.Namespace) -> int:
    from shared.adapters.firestore import firestore_client
    from shared.settings import ConfigurationError, PlatformSettings, load_settings
    from trainer.firestore_export import ExportSummary, export_training_table

    try:
        settings = load_settings(PlatformSettings)
        client = firestore_client(settings)
    except ConfigurationError as problem:
        _say(str(problem))
        return 1
    as_of = args.as_of or _today()
    _say(f"exporting {settings.gcp_project}'s loans whose 12-month outcome is known on {as_of}")
    last_line = time.monotonic()

    def progress(summary: ExportSummary) -> None:
        nonlocal last_line
        if time.monotonic() - last_line >= args.progress_seconds:
            last_line = time.monotonic()
            _say(
                f"{summary.decisions:,} decisions read, {summary.rows:,} rows "
                f"({summary.bad:,} bad), {summary.window_open:,} outcome not yet known, "
                f"{summary.not_disbursed:,} not disbursed, {summary.malformed:,} malformed"
            )

    with closing(client), _replacing(args.out) as stream:
        summary = export_training_table(client, stream, as_of, args.page_size, progress)
    print(json.dumps(summary.as_dict(), indent=2))  # noqa: T201 - the command's result
    _say(f"wrote {summary.rows:,} rows to {args.out}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from shared.domain.errors import ValidationFailed
    from shared.domain.scoring.scorecard import load_scorecard
    from trainer.fitting import TrainingFailed
    from trainer.model_card import render_model_card
    from trainer.table import read_table
    from trainer.train_version import train_version

    out: Path = args.out
    card_path: Path = args.model_card or out.with_suffix(".md")
    match = VERSION_FILE.fullmatch(out.name)
    if match is None:
        _say(f"--out must name the file v<N>.json, not {out.name}")
        return 2
    number = int(match[1])
    if number <= args.previous:
        _say(f"v{number} must come after the previous version v{args.previous}")
        return 2
    if out.exists():
        _say(f"{out} exists: a shipped version is never rewritten; train v{number + 1} instead")
        return 1
    if card_path.resolve() == out.resolve():
        _say("--model-card must be another file than --out")
        return 2
    try:
        previous = load_scorecard(f"v{args.previous}")
    except FileNotFoundError:
        _say(f"no shipped scorecard v{args.previous}")
        return 1
    try:
        table = read_table(args.table)
    except (OSError, ValueError) as problem:
        _say(f"cannot read the training table: {problem}")
        return 1
    _say(f"{len(table):,} loans in {args.table}; fitting v{number} against v{args.previous}")
    try:
        new = train_version(
            table,
            previous,
            version=number,
            effective_from=args.effective_from or _today(),
            description=args.description,
            seed=args.seed,
            held_out_share=args.held_out,
        )
    except (TrainingFailed, ValidationFailed) as problem:
        _say(f"no card: {problem}")
        return 1
    with _replacing(card_path) as stream:
        stream.write(render_model_card(new, table=str(args.table), scorecard_file=str(out)))
    with _replacing(out) as stream:
        stream.write(json.dumps(new.document, indent=2, ensure_ascii=False) + "\n")
    _say(
        f"wrote {out} ({len(new.model.characteristics)} characteristics; held-out Gini "
        f"{new.new_ranking.gini:.3f} against v{args.previous}'s "
        f"{new.previous_ranking.gini:.3f}, PSI {new.psi:.3f}) and its model card {card_path}"
    )
    return 0


def _version(text: str) -> int:
    match = VERSION.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a scorecard version (v1, v2, ...)")
    return int(match[1])


def _share(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m trainer", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)

    export = commands.add_parser("export", help="write the training table from Firestore")
    export.add_argument("--out", type=Path, required=True, help="the table (CSV) to write")
    export.add_argument(
        "--as-of", type=date.fromisoformat, help="outcomes known on this date (default: today)"
    )
    export.add_argument("--page-size", type=_positive, default=500, help="decisions per read")
    export.add_argument(
        "--progress-seconds", type=float, default=10.0, help="at most one progress line per ..."
    )
    export.set_defaults(run=_export)

    train = commands.add_parser("train", help="fit the next scorecard version")
    train.add_argument("--table", type=Path, required=True, help="the exported training table")
    train.add_argument("--previous", type=_version, required=True, help="the version it follows")
    train.add_argument("--out", type=Path, required=True, help="shared/domain/scorecards/v<N>.json")
    train.add_argument("--model-card", type=Path, help="default: beside --out, as v<N>.md")
    train.add_argument(
        "--effective-from", type=date.fromisoformat, help="the file's date (default: today)"
    )
    train.add_argument("--description", help="the file's description (default: the data's)")
    train.add_argument("--seed", type=int, default=0, help="fixes the held-out sample and folds")
    train.add_argument("--held-out", type=_share, default=0.3, help="share of loans held out")
    train.set_defaults(run=_train)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
