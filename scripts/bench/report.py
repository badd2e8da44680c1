"""A benchmark report in Markdown: a headline table, one section per scenario, the machine.

Scenarios add their own headline rows and sections; the report closes with the
machine and its load average at the start and the end of the run, since the
machine is shared and the figures depend on what else ran.
"""

from __future__ import annotations

import datetime as dt
import os
import platform as host_platform
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scripts.bench.cpu import THIS_PROCESS, CpuUse
from scripts.bench.pubsub_emulator import cpu_model, load_average


def log(message: str) -> None:
    print(f"[bench platform] {message}", flush=True)


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table's lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row of {len(row)} cells under {len(header)} columns: {row}")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:,.0f} ms"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def cpu_table(columns: list[tuple[str, CpuUse]]) -> list[str]:
    """CPU ms per operation of every part (rows) in each run (columns), busiest part first."""
    parts = sorted(
        {name for _, use in columns for name in use.cpu_s if name != THIS_PROCESS},
        key=lambda name: -sum(use.cpu_s.get(name, 0.0) for _, use in columns),
    )
    rows = [
        (f"`{name}`", *(f"{use.ms_per_operation(name):.1f}" for _, use in columns))
        for name in parts
    ]
    rows.append(
        ("**platform**", *(f"**{use.platform_ms_per_operation:.1f}**" for _, use in columns))
    )
    rows.append(
        ("platform busy cores (average)", *(f"{use.platform_cores:.2f}" for _, use in columns))
    )
    rows.append(
        (
            f"{THIS_PROCESS} (not in the total)",
            *(f"{use.ms_per_operation(THIS_PROCESS):.1f}" for _, use in columns),
        )
    )
    return table(("process (CPU ms per operation)", *(label for label, _ in columns)), rows)


@dataclass(frozen=True)
class Headline:
    measurement: str
    result: str
    target: str


@dataclass
class Report:
    """What a benchmark run found, rendered once every scenario has added its part."""

    title: str
    command: str  # Markdown: how the report is written, e.g. "`nox -s bench_x`"
    load_at_start: str = field(default_factory=load_average)
    headlines: list[Headline] = field(default_factory=list)
    sections: list[tuple[str, list[str]]] = field(default_factory=list)

    def headline(self, measurement: str, result: str, target: str = "—") -> None:
        self.headlines.append(Headline(measurement, result, target))

    def section(self, title: str, lines: Sequence[str]) -> None:
        self.sections.append((title, list(lines)))

    def render(self, *, load_at_end: str, now: dt.datetime | None = None) -> str:
        written = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
        lines = [f"# {self.title}", "", f"Written by {self.command} on {written}.", ""]
        lines += table(
            ("measurement", "result", "target"),
            ((h.measurement, h.result, h.target) for h in self.headlines),
        )
        for title, body in self.sections:
            lines += ["", f"## {title}", "", *body]
        lines += [
            "",
            "## Machine",
            "",
            f"{os.cpu_count()} CPU(s), {cpu_model()}, Python {host_platform.python_version()}, "
            f"{host_platform.system()} {host_platform.release()}. Load average (1/5/15 min) "
            f"at the start: {self.load_at_start}; at the end: {load_at_end}.",
            "",
            "The machine is shared with other engineers' builds and test runs, so read the "
            "figures as a floor rather than a ceiling, and rerun on a quiet machine before "
            "comparing two versions.",
            "",
        ]
        return "\n".join(lines)

    def write(self, path: Path) -> None:
        path.write_text(self.render(load_at_end=load_average()), encoding="utf-8")
