"""``chunkfold bench``: chunkfold against today's tools on the built-in corpus.

For every protocol (:data:`chunkfold.bench.protocols.PROTOCOLS`: chat
completions, the Responses API, Anthropic Messages), each of its selected
scenarios, read patterns (:func:`chunkfold.bench.corpus.reads`) and
implementations, :func:`run`:

1. runs the implementation once and checks its result against what the corpus
   recorded (the protocol's ``check``); a wrong result is reported and never
   timed;
2. warms it up, and picks how many calls make one sample last ``min_time``;
3. takes ``repeat`` samples with :func:`time.perf_counter_ns`, in rounds that
   time every implementation on that stream in turn (so a burst of load
   elsewhere on a shared machine slows them alike, and the speed-ups hold),
   and keeps the median time per call;
4. for an implementation that asks for it (LiteLLM's), makes one more, untimed
   call under tracemalloc and keeps its peak: memory per stream.

As :mod:`timeit` does, the samples follow a full collection and run with the
garbage collector off (``Settings.gc`` keeps it on): a full collection costs
what the whole process holds (openai-python's pydantic schemas, for one), so
it would land at random in whichever implementation triggers it. Reported:
µs per chunk (per event), MB/s, and each baseline's median ÷ the median of
that protocol's accumulator ``feed`` from the same run (the speed-up).
:func:`format_table`, :func:`write_json` and :func:`write_chart` (matplotlib,
PNG or SVG) present a :class:`Report`.
"""

from __future__ import annotations

import gc
import importlib
import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chunkfold import __version__
from chunkfold.bench import protocols as registry
from chunkfold.bench.corpus import READ_PATTERNS, reads
from chunkfold.bench.implementation import Implementation, Reads, ResultMismatch, traced_peak
from chunkfold.bench.machine import Progress, machine
from chunkfold.bench.protocols import Protocol, implementation_names, scenario_names

__all__ = [
    "REFERENCE",
    "BenchError",
    "Measurement",
    "Progress",
    "Report",
    "Settings",
    "check_chart_path",
    "describe",
    "format_table",
    "machine",
    "run",
    "write_chart",
    "write_json",
]

#: The implementation every baseline's speed-up is measured against.
REFERENCE = "feed"
_CHART_FORMATS = (".png", ".svg")
_TIMES = "\u00d7"  # the multiplication sign, as in "12x"
_PATTERN_NAMES = {
    "event": "one read per event",
    "1k": "1 KiB reads",
    "16k": "16 KiB reads",
    "64k": "64 KiB reads",
    "random": "random reads (cut events and UTF-8)",
}
Run = Callable[[Reads], Any]


class BenchError(Exception):
    """A benchmark that cannot run as asked (an unknown name, no matplotlib for ``--chart``)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What to run and how long to time it."""

    scenarios: tuple[str, ...] = scenario_names()
    """Every protocol's scenarios (:data:`chunkfold.bench.protocols.PROTOCOLS`)."""
    patterns: tuple[str, ...] = READ_PATTERNS
    implementations: tuple[str, ...] = implementation_names()
    """By default every implementation but the msgspec limits (``--impl msgspec-array,msgspec-logprobs``)."""
    repeat: int = 7
    """Samples per measurement; the median is reported."""
    warmup: int = 2
    """Calls before timing, the checked call included."""
    min_time: float = 0.025
    """Seconds one sample lasts at least (short calls are repeated within it)."""
    seed: int = 0
    gc: bool = False
    """Keep the garbage collector on while timing. Off by default, as in :mod:`timeit`:
    a full collection's cost depends on everything else the process holds, not on
    the implementation being timed."""

    @classmethod
    def quick(cls) -> Settings:
        """Every scenario, one read per event and 64 KiB reads, three short samples."""
        return cls(patterns=("event", "64k"), repeat=3, warmup=1, min_time=0.005)

    def validate(self) -> None:
        """Raises :class:`BenchError` for unknown names or counts below one."""
        for kind, names, valid in (
            ("scenario", self.scenarios, scenario_names(registry.PROTOCOLS)),
            ("read pattern", self.patterns, READ_PATTERNS),
            ("implementation", self.implementations, implementation_names(registry.PROTOCOLS, limits=True)),
        ):
            if not names:
                raise BenchError(f"no {kind} selected")
            for name in names:
                if name not in valid:
                    raise BenchError(f"unknown {kind} {name!r}; choose from {', '.join(valid)}")
        if self.repeat < 1 or self.warmup < 1 or self.min_time < 0:
            raise BenchError("--repeat and --warmup must be at least 1, --min-time at least 0")


@dataclass(frozen=True, slots=True)
class Measurement:
    """One implementation timed on one stream."""

    scenario: str
    pattern: str
    implementation: str
    label: str
    kind: str
    baseline: bool
    bytes: int
    reads: int
    chunks: int
    number: int
    """Calls per sample."""
    samples_ns: tuple[float, ...]
    """Time per call in each sample, in nanoseconds."""
    protocol: str = "chat"
    """The protocol of the scenario (:data:`chunkfold.bench.protocols.PROTOCOLS`)."""
    peak_bytes: int | None = None
    """Memory per stream, for implementations that measure it: tracemalloc's peak during one
    more call, untimed (:func:`~chunkfold.bench.implementation.traced_peak`)."""

    @property
    def median_ns(self) -> float:
        """The median time per call."""
        return statistics.median(self.samples_ns)

    @property
    def us_per_chunk(self) -> float:
        """Microseconds per chunk."""
        return self.median_ns / 1e3 / self.chunks

    @property
    def mb_per_s(self) -> float:
        """Throughput in megabytes (10⁶ bytes) per second."""
        return self.bytes / self.median_ns * 1e3

    def to_json(self) -> dict[str, Any]:
        """The measurement with its derived figures, as JSON values."""
        out = asdict(self)
        out["samples_ns"] = [round(s, 1) for s in self.samples_ns]
        out.update(
            median_ns=round(self.median_ns, 1),
            us_per_chunk=round(self.us_per_chunk, 4),
            mb_per_s=round(self.mb_per_s, 2),
        )
        return out


@dataclass(slots=True)
class Report:
    """Everything one run measured."""

    settings: Settings
    machine: dict[str, Any]
    measurements: list[Measurement] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    """Implementations not run, with why (a missing package)."""
    failures: list[str] = field(default_factory=list)
    """Results that differed from the corpus's, or runs that raised; none were timed."""
    seconds: float = 0.0

    def get(self, scenario: str, pattern: str, implementation: str) -> Measurement | None:
        """The measurement of one cell, if it was taken."""
        for m in self.measurements:
            if (m.scenario, m.pattern, m.implementation) == (scenario, pattern, implementation):
                return m
        return None

    def speedup(self, scenario: str, pattern: str, baseline: str) -> float | None:
        """``baseline``'s median ÷ chunkfold accumulate's (that protocol's ``feed``) on one stream."""
        ours = self.get(scenario, pattern, REFERENCE)
        theirs = self.get(scenario, pattern, baseline)
        if ours is None or theirs is None:
            return None
        return theirs.median_ns / ours.median_ns

    def baselines(self) -> list[str]:
        """The baselines measured, in :func:`~chunkfold.bench.protocols.implementation_names` order."""
        measured = {m.implementation for m in self.measurements if m.baseline}
        return [name for name in implementation_names(registry.PROTOCOLS, limits=True) if name in measured]

    def implementations(self) -> list[tuple[str, Implementation]]:
        """Every ``(protocol, implementation)`` measured, by protocol."""
        measured = {(m.protocol, m.implementation) for m in self.measurements}
        return [
            (p.name, i)
            for p in registry.PROTOCOLS
            for i in (*p.implementations, *p.limits)
            if (p.name, i.name) in measured
        ]

    def to_json(self) -> dict[str, Any]:
        """The whole report as JSON values."""
        speedups = [
            {"scenario": s, "pattern": p, "baseline": b, "speedup": round(x, 3)}
            for s in self.settings.scenarios
            for p in self.settings.patterns
            for b in self.baselines()
            if (x := self.speedup(s, p, b)) is not None
        ]
        return {
            "chunkfold": __version__,
            "reference": REFERENCE,
            "machine": self.machine,
            "settings": asdict(self.settings),
            "seconds": round(self.seconds, 2),
            "skipped": self.skipped,
            "failures": self.failures,
            "results": [m.to_json() for m in self.measurements],
            "speedups": speedups,
        }


def _time(fn: Callable[[Reads], Any], data: Reads, number: int) -> float:
    clock = time.perf_counter_ns
    start = clock()
    for _ in range(number):
        fn(data)
    return (clock() - start) / number


def _prepare(
    protocol: Protocol, impl: Implementation, fn: Run, stream: Any, data: Reads, settings: Settings
) -> int:
    """Runs ``fn`` once and checks its result, warms it up, and returns how many
    calls make one sample last ``min_time``."""
    clock = time.perf_counter_ns
    start = clock()
    result = fn(data)
    first = clock() - start
    (impl.check or protocol.check)(impl, result, stream)
    del result
    estimate = min([first] + [_time(fn, data, 1) for _ in range(settings.warmup - 1)])
    return max(1, math.ceil(settings.min_time * 1e9 / max(estimate, 1)))


def _rounds(
    timed: list[tuple[Implementation, Run, int]], data: Reads, settings: Settings
) -> list[list[float]]:
    """``repeat`` rounds, each taking one sample of every implementation in turn, so
    that a burst of load elsewhere on the machine slows all of them alike. They run
    after one full collection, with the collector off unless ``settings.gc``."""
    samples: list[list[float]] = [[] for _ in timed]
    gc.collect()
    enabled = gc.isenabled()
    if not settings.gc:
        gc.disable()
    try:
        for _ in range(settings.repeat):
            for own, (_, fn, number) in zip(samples, timed, strict=True):
                own.append(_time(fn, data, number))
    finally:
        if enabled:
            gc.enable()
    return samples


def _measure_stream(
    protocol: Protocol,
    loaded: list[tuple[Implementation, Run]],
    stream: Any,
    pattern: str,
    report: Report,
    progress: Progress | None,
) -> None:
    """Checks and prepares every implementation on one stream, then times them in rounds."""
    settings = report.settings
    data = reads(stream.body, pattern, seed=settings.seed)
    timed: list[tuple[Implementation, Run, int]] = []
    peaks: dict[str, int] = {}
    for impl, fn in loaded:
        if impl.scenarios is not None and stream.name not in impl.scenarios:
            if progress is not None:
                progress.advance()
            continue
        if progress is not None:
            progress.update(f"{stream.name}/{pattern}: checking {impl.name}")
        try:
            number = _prepare(protocol, impl, fn, stream, data, settings)
            if impl.memory:
                peaks[impl.name] = traced_peak(fn, data)
            timed.append((impl, fn, number))
        except ResultMismatch as exc:
            report.failures.append(f"{pattern} reads: {exc}")
        except Exception as exc:
            report.failures.append(f"{impl.name} on {stream.name}/{pattern} raised {exc!r}")
        if progress is not None:
            progress.advance()
    if progress is not None:
        progress.update(f"{stream.name}/{pattern}: timing {len(timed)} in {settings.repeat} rounds")
    for (impl, _, number), samples in zip(timed, _rounds(timed, data, settings), strict=True):
        report.measurements.append(
            Measurement(
                scenario=stream.name,
                pattern=pattern,
                implementation=impl.name,
                label=impl.label,
                kind=impl.kind,
                baseline=impl.baseline,
                bytes=len(stream.body),
                reads=len(data),
                chunks=stream.chunks,
                number=number,
                samples_ns=tuple(samples),
                protocol=protocol.name,
                peak_bytes=peaks.get(impl.name),
            )
        )
    if progress is not None:
        progress.advance()


def run(settings: Settings, *, progress: Progress | None = None) -> Report:
    """Checks and times every selected implementation on every selected stream.

    Baselines whose packages are missing are skipped and listed in
    :attr:`Report.skipped`; a result that differs from the corpus's is listed
    in :attr:`Report.failures` and not timed.
    """
    settings.validate()
    started = time.monotonic()
    report = Report(settings=settings, machine=machine())
    wanted = set(settings.implementations) | {REFERENCE}
    plan: list[tuple[Protocol, list[str], list[tuple[Implementation, Run]]]] = []
    for protocol in registry.PROTOCOLS:
        names = [name for name in settings.scenarios if name in protocol.scenarios]
        if not names:
            continue
        loaded: list[tuple[Implementation, Run]] = []
        for impl in (*protocol.implementations, *protocol.limits):
            if impl.name not in wanted:
                continue
            try:
                loaded.append((impl, impl.load()))
            except ImportError as exc:
                if not impl.baseline:
                    raise
                report.skipped.setdefault(impl.name, str(exc))
        plan.append((protocol, names, loaded))
    if progress is not None:
        total = sum(len(names) * (len(loaded) + 1) for _, names, loaded in plan)
        progress.total = max(total * len(settings.patterns), 1)
    for protocol, names, loaded in plan:
        for name in names:
            stream = protocol.scenarios[name].stream(settings.seed)
            for pattern in settings.patterns:
                _measure_stream(protocol, loaded, stream, pattern, report, progress)
    if progress is not None:
        progress.close()
    report.seconds = time.monotonic() - started
    return report


# --- presenting a report -------------------------------------------------------------


def _us(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value >= 1 else f"{value:.2g}" if value < 0.1 else f"{value:.3f}".rstrip("0")


def _ratio(value: float) -> str:
    return f"{value:.2g}{_TIMES}" if value < 10 else f"{value:,.0f}{_TIMES}"


def _column(name: str) -> str:
    return {"feed": "accumulate", "sse": "SSEDecoder", "chunks": "ChunkDecoder"}.get(name, name)


def format_table(report: Report, *, markdown: bool = False) -> str:
    """The results as a table: one row per stream, µs per chunk in every cell, with
    MB/s for chunkfold accumulate and the speed-up over it for each baseline.

    A last row gives each baseline's geometric-mean speed-up; when more than one
    protocol was measured, each protocol's rows end with its own (the speed-ups of
    different protocols are not averaged together).
    """
    settings = report.settings
    measured = {m.implementation for m in report.measurements if not m.baseline}
    ours = [name for name in implementation_names(registry.PROTOCOLS, limits=True) if name in measured]
    ours.sort(key=lambda name: name != REFERENCE)
    baselines = report.baselines()
    header = ["stream", "chunks", "MB/s", *(_column(name) for name in ours), *baselines]
    rows: list[list[str]] = []
    protocols = [p for p in registry.PROTOCOLS if any(m.protocol == p.name for m in report.measurements)]
    for protocol in protocols:
        scenarios = [s for s in settings.scenarios if s in protocol.scenarios]
        label = "geometric mean" if len(protocols) == 1 else f"geometric mean, {protocol.name}"
        rows += _rows(report, scenarios, ours, baselines, label)
    return _render(header, rows, markdown=markdown)


def _rows(
    report: Report, scenarios: list[str], ours: list[str], baselines: list[str], mean: str
) -> list[list[str]]:
    """One protocol's rows of :func:`format_table`, then its geometric-mean row labelled ``mean``."""
    rows: list[list[str]] = []
    ratios: dict[str, list[float]] = {b: [] for b in baselines}
    for scenario in scenarios:
        for pattern in report.settings.patterns:
            reference = report.get(scenario, pattern, REFERENCE)
            if reference is None:
                continue
            row = [f"{scenario}, {pattern}", f"{reference.chunks:,}", f"{reference.mb_per_s:,.0f}"]
            for name in ours:
                m = report.get(scenario, pattern, name)
                row.append("-" if m is None else _us(m.us_per_chunk))
            for baseline in baselines:
                m = report.get(scenario, pattern, baseline)
                x = report.speedup(scenario, pattern, baseline)
                if m is None or x is None:
                    row.append("-")
                    continue
                ratios[baseline].append(x)
                memory = "" if m.peak_bytes is None else f" {m.peak_bytes / 1e6:.2g} MB"
                row.append(f"{_us(m.us_per_chunk)} ({_ratio(x)}){memory}")
            rows.append(row)
    if rows and baselines:
        geomeans = [_ratio(statistics.geometric_mean(r)) if r else "-" for r in ratios.values()]
        rows.append([mean, "", "", *([""] * len(ours)), *geomeans])
    return rows


def _render(header: list[str], rows: list[list[str]], *, markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def describe(report: Report) -> str:
    """What the table's columns mean, the settings, and what was skipped."""
    s = report.settings
    info = report.machine
    lines = [
        "µs per chunk, median of "
        f"{s.repeat} samples of at least {s.min_time * 1e3:g} ms (garbage collector "
        f"{'on' if s.gc else 'off'}); (N{_TIMES}) = that baseline's time ÷ "
        "chunkfold accumulate's; MB/s is chunkfold accumulate's throughput.",
        f"{info['cpu']}, {info['cpus']} CPUs, {info['python']}, chunkfold {__version__} "
        f"({info['chunkfold_build']} build), {report.seconds:.0f} s.",
    ]
    if info["chunkfold_build"] == "debug":
        lines.append("warning: chunkfold._core is a debug build; run `maturin develop --release`.")
    legend = [
        (_column(i.name) + ("" if protocol == "chat" else f" ({protocol})"), i.description)
        for protocol, i in report.implementations()
    ]
    width = max((len(name) for name, _ in legend), default=0)
    lines += [f"  {name:>{width}}: {description}" for name, description in legend]
    if any(m.peak_bytes is not None for m in report.measurements):
        lines.append(
            "MB after a speed-up: memory per stream, tracemalloc's peak during one more call "
            "(the Python heap only)."
        )
    lines += [f"skipped {name}: {why}" for name, why in report.skipped.items()]
    return "\n".join(lines)


def write_json(report: Report, path: str | Path) -> None:
    """Writes :meth:`Report.to_json` to ``path``."""
    Path(path).write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")


def _pyplot() -> Any:
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError as exc:
        raise BenchError("--chart needs matplotlib: pip install matplotlib (or 'chunkfold[bench]')") from exc
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def check_chart_path(path: str | Path) -> None:
    """Raises :class:`BenchError` before a run if ``path`` cannot be charted:
    a suffix other than ``.png`` or ``.svg``, or no matplotlib."""
    if Path(path).suffix.lower() not in _CHART_FORMATS:
        raise BenchError(f"--chart writes {' or '.join(_CHART_FORMATS)} files, not {str(path)!r}")
    _pyplot()


def write_chart(report: Report, path: str | Path) -> None:
    """Draws µs per chunk (log scale, each bar labelled) for chunkfold accumulate,
    ``ChunkDecoder`` and every baseline, grouped by scenario, one panel per read pattern."""
    check_chart_path(path)
    plt = _pyplot()
    plt.rcParams["svg.hashsalt"] = "chunkfold-bench"
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, searchable
    s = report.settings
    first = {i.name: i for _, i in reversed(report.implementations())}  # the first protocol's label
    shown = [i for i in first.values() if i.kind != "sse"]
    shown.sort(key=lambda i: (i.baseline, i.name != REFERENCE))
    patterns = [p for p in s.patterns if any(m.pattern == p for m in report.measurements)]
    if not patterns or not shown:
        raise BenchError("nothing was measured, so there is no chart to draw")
    values = [m.us_per_chunk for m in report.measurements if m.kind != "sse"]
    bottom = 10 ** math.floor(math.log10(min(values) / 2))
    top = 10 ** math.ceil(math.log10(max(values) * 4))
    colours = {"feed": "#d9480f", "chunks": "#f59f00", "openai": "#1c7ed6", "httpx-sse": "#74c0fc"}
    colours |= {"msgspec": "#495057", "orjson": "#adb5bd", "anthropic": "#7048e8"}
    colours |= {"litellm": "#2f9e44", "litellm-builder": "#8ce99a"}
    height = 1.3 + 2.9 * len(patterns)
    fig, axes = plt.subplots(len(patterns), 1, figsize=(11, height), sharex=True, squeeze=False)
    width = 0.84 / len(shown)
    for ax, pattern in zip(axes[:, 0], patterns, strict=True):
        for k, impl in enumerate(shown):
            xs, ys = [], []
            for x, scenario in enumerate(s.scenarios):
                m = report.get(scenario, pattern, impl.name)
                if m is not None:
                    xs.append(x - 0.42 + width * (k + 0.5))
                    ys.append(m.us_per_chunk)
            bars = ax.bar(xs, ys, width, label=impl.label, color=colours.get(impl.name))
            ax.bar_label(bars, [_us(y) for y in ys], rotation=90, padding=2, fontsize=6.5)
        ax.set_yscale("log")
        ax.set_ylim(bottom, top)
        ax.set_title(_PATTERN_NAMES.get(pattern, pattern), loc="left", fontsize=10)
        ax.set_ylabel("µs per chunk")
        ax.grid(axis="y", which="major", alpha=0.3)
    axes[-1, 0].set_xticks(range(len(s.scenarios)), s.scenarios)
    info = report.machine
    fig.suptitle(
        f"chunkfold bench: µs per chunk, log scale, lower is better (median of {s.repeat}); "
        f"{info['cpu']}, {info['cpus']} CPUs, {info['python']}",
        fontsize=10,
        y=1 - 0.15 / height,
    )
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        ncol=3,
        fontsize=8,
        frameon=False,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.4 / height),
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.8 / height))
    metadata = {"Date": None} if Path(path).suffix.lower() == ".svg" else {}
    fig.savefig(path, metadata=metadata)
    plt.close(fig)
