"""Load test for the metering proxy: what ``tap`` costs next to plain forwarding
and a LiteLLM-style path, under hundreds of concurrent streams.

    python examples/load.py --streams 200 1000 --tokens 50 --rate 5 --repeat 3 --sequential 10000

The mock upstream (``examples/mock_upstream.py``) and three proxies run as
uvicorn processes on 127.0.0.1, so that each proxy's CPU time can be read on
its own from ``/proc/<pid>/stat``:

* ``plain``: the proxy of ``examples/gateway.py`` without ``tap``;
* ``tap``: ``examples/gateway.create_app`` itself;
* ``otel`` (only with ``--variants``): ``tap`` with an ``otel_recorder`` on
  the OpenTelemetry SDK (metrics aggregated in memory, spans batched to an
  exporter that drops them): what telemetry adds to ``tap``;
* ``litellm``: the same forwarding, but each chunk is parsed (``json.loads``),
  validated into openai's pydantic ``ChatCompletionChunk`` and serialised
  again (``model_dump_json()``), as LiteLLM's proxy does; a lower bound, as
  LiteLLM also runs the openai SDK's SSE decoder and its own stream wrapper.

This process drives N concurrent streams through one proxy at a time (all at
once with ``--together``), each of ``--tokens`` content tokens at ``--rate``
tokens/s, reads every byte and counts the chunks. The client asks for usage,
so all three proxies forward the same bytes. The table gives each proxy's CPU
seconds per 1,000 chunks and the ratio to ``plain``: medians of ``--repeat``
rounds, run in rotating order. Each round of ``tap`` must have metered, in
``GET /v1/usage`` under its own API key, every token the mock sent.
``--sequential N`` then sends N streams one after another through ``tap`` and
samples its resident set (``VmRSS``) every ``--every`` streams.

Keep ``streams x rate`` well below what the machine carries: a process short of
CPU gets several chunks per read and shares its per-read costs among them, so
its CPU per chunk falls. The ``reads/chunk`` column (as the client saw them)
should stay near 1.

Two settings of the example proxy are changed, for all three proxies alike:
its upstream ``httpx.AsyncClient`` has httpx's default of 100 connections, so
past 100 concurrent streams the rest queue and fail after the 60 s pool
timeout; here ``max_connections`` is the largest stream count (``--pool 0``
keeps 100). And the example appends every ``StreamSummary`` to
``app.state.summaries`` for the life of the process; here it keeps the last 100
(``--keep-summaries`` keeps them all).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import functools
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gateway  # examples/gateway.py
import mock_upstream  # examples/mock_upstream.py

VARIANTS = ("plain", "tap", "litellm")
#: ``tap`` with the OpenTelemetry recorder: run only when asked for (``--variants``).
OPTIONAL_VARIANTS = ("otel",)
HOST = "127.0.0.1"
MODEL = "mock-chat"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: Tokens a stream in the unmeasured round before each stream count: it imports what is
#: imported late, opens the upstream connections and grows the heaps to the load.
WARMUP_TOKENS = 5
#: ``--sequential``: how much the resident set may grow after the first ``--every`` streams.
RSS_TOLERANCE = 0.10
UPSTREAM_TIMEOUT = httpx.Timeout(60.0, connect=5.0)  # the example's
#: Streams per client: httpcore's pool spends O(open connections) on every request it
#: starts or ends, so one client for 1,000 streams would be the slowest part of the test.
PER_CLIENT = 100
#: Paced runs start at most this many streams a second.
RAMP = 250


# --- the proxies, each run in its own process -------------------------------


Relay = Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]]


def _plain(raw: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    return raw


async def _pydantic(raw: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """What LiteLLM does per chunk: parse, validate into a pydantic chunk, serialise again.

    Only ``data:`` lines are relayed: enough for the mock's ``mock-chat`` streams.
    """
    from openai.types.chat import ChatCompletionChunk

    carry = b""
    async for data in raw:
        lines = (carry + data).split(b"\n")
        carry = lines.pop()
        for line in lines:
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == b"[DONE]":
                yield b"data: [DONE]\n\n"
                continue
            chunk = ChatCompletionChunk.model_validate(json.loads(payload))
            yield b"data: " + chunk.model_dump_json().encode() + b"\n\n"


def _forwarding_app(upstream: str, relay: Relay, limits: httpx.Limits) -> Any:
    """The proxy of ``examples/gateway.py`` with ``relay`` in place of ``tap``, and no metering."""
    from chunkfold.gateway import adrop_usage_chunk, ensure_include_usage
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    client = httpx.AsyncClient(base_url=upstream, timeout=UPSTREAM_TIMEOUT, limits=limits)

    async def completions(request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        upstream_body, client_asked_usage = ensure_include_usage(body)
        headers = {k: v for k, v in request.headers.items() if k.lower() in gateway.FORWARDED}
        headers["accept-encoding"] = "identity"
        sent = client.build_request("POST", "/v1/chat/completions", json=upstream_body, headers=headers)
        response = await client.send(sent, stream=True)
        media_type = response.headers.get("content-type", "")
        if not body.get("stream") or not media_type.startswith("text/event-stream"):
            content = await response.aread()
            await response.aclose()
            return Response(content, status_code=response.status_code, media_type=media_type)
        forwarded = relay(response.aiter_raw())
        if not client_asked_usage:
            forwarded = adrop_usage_chunk(forwarded)
        return StreamingResponse(
            forwarded,
            status_code=response.status_code,
            media_type="text/event-stream",
            background=BackgroundTask(response.aclose),
        )

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


def _tap_app(upstream: str, limits: httpx.Limits, keep_summaries: bool) -> Any:
    app = gateway.create_app(upstream)
    app.state.client = httpx.AsyncClient(base_url=upstream, timeout=UPSTREAM_TIMEOUT, limits=limits)
    if not keep_summaries:
        app.state.summaries = collections.deque(maxlen=100)
    return app


def _otel_recorder() -> Any:
    """``otel_recorder`` on the SDK: metrics aggregated in memory (nothing
    exported), spans through a ``BatchSpanProcessor`` to an exporter that drops them."""
    from chunkfold.gateway import otel_recorder
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(Drop()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return otel_recorder(meter_provider.get_meter("load"), tracer_provider.get_tracer("load"))


def _serve(variant: str, upstream: str, pool: int, keep_summaries: bool) -> None:
    """Runs one server in this process; prints its port on stdout once it is listening."""
    import uvicorn

    limits = httpx.Limits(max_connections=pool or 100, max_keepalive_connections=20)
    if variant == "mock":
        app = mock_upstream.create_app(rate=0)
    elif variant in ("tap", "otel"):
        app = _tap_app(upstream, limits, keep_summaries)
        if variant == "otel":
            app.state.recorder = _otel_recorder()
    else:
        app = _forwarding_app(upstream, _pydantic if variant == "litellm" else _plain, limits)
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
    # and accepted sockets inherit it. Without it, Nagle's algorithm and delayed ACKs
    # add 40 ms to every response (uvicorn binding a host and port itself is not affected).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((HOST, 0))
    sock.listen(4096)
    print(sock.getsockname()[1], flush=True)
    os.dup2(2, 1)  # nothing more goes to the parent's pipe
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class Server:
    """A server process; ``url`` is set once it listens."""

    variant: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    def cpu(self) -> float:
        """CPU seconds (user + system, all threads) the process has used."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # from field 3 on; the name may hold spaces
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss(self) -> int:
        """Resident set, in bytes."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for {self.variant}")

    def stderr(self) -> list[str]:
        """What the server wrote to stderr."""
        return self.log.read_text(errors="replace").splitlines()

    def wait_listening(self, timeout: float = 30.0) -> None:
        out = self.process.stdout
        assert out is not None
        ready, _, _ = select.select([out], [], [], timeout)
        line = out.readline() if ready else b""
        out.close()
        if not line.strip().isdigit():
            raise RuntimeError(f"{self.variant} did not start: {' | '.join(self.stderr()[-5:])}")
        self.url = f"http://{HOST}:{int(line)}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _die_with_parent() -> None:
    """In the child, before exec: a SIGTERM when the process that started it ends, however
    it ends (``finally`` does not run on SIGKILL)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _start(variant: str, logs: Path, cpus: set[int], *args: str) -> Server:
    log = logs / f"{variant}.log"
    with log.open("wb") as stderr:
        command = [sys.executable, __file__, "--serve", variant, *args]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, preexec_fn=_die_with_parent
        )
    with contextlib.suppress(OSError):  # pinning is only for steadier figures
        os.sched_setaffinity(process.pid, cpus)
    return Server(variant, process, log)


@contextlib.contextmanager
def servers(
    variants: Sequence[str], *, pool: int, keep_summaries: bool, logs: Path
) -> Iterator[dict[str, Server]]:
    """The mock upstream (``"mock"``) and the proxies, stopped on exit however it comes.

    With two CPUs or more, the proxies get the last one to themselves and the
    mock and this process (the client) share the others: a proxy's CPU time then
    does not depend on how the scheduler happened to mix it with the other two.
    """
    cpus = sorted(os.sched_getaffinity(0))
    own, proxies = (set(cpus[:-1]), {cpus[-1]}) if len(cpus) > 1 else (set(cpus), set(cpus))
    started: dict[str, Server] = {}
    try:
        os.sched_setaffinity(0, own)
        started["mock"] = _start("mock", logs, own)
        started["mock"].wait_listening()
        args = ["--upstream", started["mock"].url, "--pool", str(pool)]
        args += ["--keep-summaries"] if keep_summaries else []
        for variant in variants:
            started[variant] = _start(variant, logs, proxies, *args)
        for variant in variants:
            started[variant].wait_listening()
        yield started
    finally:
        for server in started.values():
            server.stop()
        os.sched_setaffinity(0, cpus)


# --- the client -------------------------------------------------------------


@functools.cache
def expected_body(tokens: int) -> bytes:
    """The bytes the mock sends for one stream, usage chunk included."""
    return b"".join(frame for frame, _ in mock_upstream.frames(MODEL, tokens, True))


@dataclass
class Tally:
    """What the client received."""

    chunks: int = 0
    """``chat.completion.chunk`` events, ``[DONE]`` not counted."""
    reads: int = 0
    wrong: int = 0
    """Streams with the wrong number of chunks, or (but for ``litellm``) not the mock's bytes."""
    errors: collections.Counter[str] = field(default_factory=collections.Counter)


def _request(tokens: int, rate: float, key: str) -> dict[str, Any]:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "load"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": tokens,
    }
    headers = {"authorization": f"Bearer {key}", "x-mock-rate": str(rate)}
    return {"url": "/v1/chat/completions", "json": body, "headers": headers}


async def _stream(
    client: httpx.AsyncClient, request: dict[str, Any], exact: bool, tally: Tally, delay: float = 0.0
) -> None:
    tokens = request["json"]["max_tokens"]
    await asyncio.sleep(delay)
    try:
        async with client.stream("POST", **request) as response:
            response.raise_for_status()
            pieces = [piece async for piece in response.aiter_raw()]
    except Exception as exc:
        tally.errors[type(exc).__name__] += 1
        return
    received = b"".join(pieces)
    chunks = received.count(b"\n\n") - received.endswith(b"data: [DONE]\n\n")
    tally.chunks += chunks
    tally.reads += len(pieces)
    # the role, the tokens, finish_reason, usage
    tally.wrong += chunks != tokens + 3 or (exact and received != expected_body(tokens))


async def drive(
    url: str, variant: str, *, streams: int, tokens: int, rate: float, key: str, per_client: int = PER_CLIENT
) -> Tally:
    """Runs ``streams`` concurrent streams through the proxy at ``url``, ``per_client``
    of them to an ``httpx.AsyncClient`` (0: one client for all).

    Paced streams start spread over one token's interval, or at ``RAMP`` a
    second if that is longer. Started at once, they would send their chunks in
    bursts, and how many chunks a burst let a read or a loop iteration share
    would decide the CPU per chunk; and a proxy given more new streams a second
    than its upstream pool can open runs into the example's 5 s connect timeout.
    """
    tally = Tally()
    request = _request(tokens, rate, key)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    timeout = httpx.Timeout(600.0, connect=60.0)
    spread = max(1 / rate / streams, 1 / RAMP) if rate > 0 else 0.0
    per_client = per_client or streams
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout))
            for _ in range(0, streams, per_client)
        ]
        exact = variant != "litellm"
        await asyncio.gather(
            *(_stream(clients[i // per_client], request, exact, tally, i * spread) for i in range(streams))
        )
    return tally


# --- the runs ---------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What to run: the command line's options."""

    streams: tuple[int, ...] = (200, 1000)
    """The concurrent stream counts."""
    tokens: int = 50
    rate: float = 5.0
    """Tokens a second in each stream (0: unpaced)."""
    variants: tuple[str, ...] = VARIANTS
    repeat: int = 3
    together: bool = False
    per_client: int = PER_CLIENT
    sequential: int = 0
    sequential_tokens: int = 50
    every: int = 1000
    pool: int | None = None
    """The proxies' upstream ``max_connections``: by default the largest count; 0 for httpx's 100."""
    keep_summaries: bool = False


@dataclass
class Round:
    """One variant under one stream count, once."""

    variant: str
    streams: int
    chunks: int
    reads: int
    wall_s: float
    proxy_cpu_s: float
    upstream_cpu_s: float
    client_cpu_s: float
    other_cpu_s: float
    """CPU time everything else on the machine used meanwhile: any makes the figures noisier."""
    wrong: int
    errors: dict[str, int]
    sent_tokens: int
    """Content tokens the mock sent in the streams that did not fail."""
    metered_tokens: int | None
    """``tap`` only: the completion tokens ``GET /v1/usage`` has for the round's key."""


@dataclass
class Row:
    """One variant under one stream count: the medians of its rounds."""

    variant: str
    streams: int
    rounds: int
    chunks: int
    """Chunks received in one round."""
    wall_s: float
    proxy_cpu_s: float
    cpu_s_per_1k_chunks: float
    spread: tuple[float, float]
    """The lowest and the highest CPU seconds per 1,000 chunks of a round."""
    vs_plain: float | None
    reads_per_chunk: float
    check: str
    """``"ok"``, or what went wrong."""


def _row(rounds: list[Round], plain: Row | None) -> Row:
    per_1k = [r.proxy_cpu_s / r.chunks * 1000 if r.chunks else 0.0 for r in rounds]
    problems = [f"{n} {name}" for r in rounds for name, n in r.errors.items()]
    problems += [f"{r.wrong} streams wrong" for r in rounds if r.wrong]
    problems += [
        f"metered {r.metered_tokens} of {r.sent_tokens} tokens"
        for r in rounds
        if r.metered_tokens is not None and r.metered_tokens != r.sent_tokens
    ]
    if len({r.chunks for r in rounds}) > 1:
        problems.append(f"chunks differ between rounds: {sorted({r.chunks for r in rounds})}")
    median, chunks = statistics.median(per_1k), sum(r.chunks for r in rounds)
    return Row(
        variant=rounds[0].variant,
        streams=rounds[0].streams,
        rounds=len(rounds),
        chunks=rounds[0].chunks,
        wall_s=round(statistics.median(r.wall_s for r in rounds), 2),
        proxy_cpu_s=round(statistics.median(r.proxy_cpu_s for r in rounds), 2),
        cpu_s_per_1k_chunks=median,
        spread=(min(per_1k), max(per_1k)),
        vs_plain=round(median / plain.cpu_s_per_1k_chunks, 3) if plain else None,
        reads_per_chunk=round(sum(r.reads for r in rounds) / chunks, 3) if chunks else 0.0,
        check="; ".join(problems) or "ok",
    )


_keys = iter(range(1, 1_000_000))


def _key() -> str:
    """A fresh API key; the example meters per key by its last six characters."""
    return f"sk-load-{os.getpid() % 1000:03d}{next(_keys):06d}"


def _busy_cpu() -> float:
    """CPU seconds the whole machine has been busy (``/proc/stat``)."""
    user, nice, system, _idle, _iowait, irq, softirq = Path("/proc/stat").read_text().split()[1:8]
    return sum(int(t) for t in (user, nice, system, irq, softirq)) / CLOCK_TICKS


def _metered(server: Server, key: str) -> int:
    totals = httpx.get(f"{server.url}/v1/usage", timeout=10).json()
    return int(totals.get(key[-6:], {}).get("output_tokens", 0))


def _rounds(
    procs: dict[str, Server], group: Sequence[str], streams: int, tokens: int, s: Settings
) -> list[Round]:
    """Drives ``streams`` streams through each proxy of ``group``, all at the same time."""
    keys = [_key() for _ in group]

    async def drive_all() -> list[Tally]:
        runs = (
            drive(
                procs[v].url, v, streams=streams, tokens=tokens, rate=s.rate, key=k, per_client=s.per_client
            )
            for v, k in zip(group, keys, strict=True)
        )
        return await asyncio.gather(*runs)

    cpu = {v: server.cpu() for v, server in procs.items()}
    client, wall, busy = time.process_time(), time.perf_counter(), _busy_cpu()
    tallies = asyncio.run(drive_all())
    wall, client = time.perf_counter() - wall, time.process_time() - client
    cpu = {v: round(procs[v].cpu() - before, 3) for v, before in cpu.items()}
    other = round(_busy_cpu() - busy - sum(cpu.values()) - client, 2)
    return [
        Round(
            variant=variant,
            streams=streams,
            chunks=tally.chunks,
            reads=tally.reads,
            wall_s=round(wall, 3),
            proxy_cpu_s=cpu[variant],
            upstream_cpu_s=cpu["mock"],
            client_cpu_s=round(client, 3),
            other_cpu_s=other,
            wrong=tally.wrong,
            errors=dict(tally.errors),
            sent_tokens=(streams - sum(tally.errors.values())) * tokens,
            metered_tokens=_metered(procs[variant], key) if variant in ("tap", "otel") else None,
        )
        for variant, tally, key in zip(group, tallies, keys, strict=True)
    ]


def run_load(procs: dict[str, Server], s: Settings) -> tuple[list[Row], list[Round]]:
    """Each stream count through each variant, ``s.repeat`` times.

    One variant at a time, in rotating order so that none always runs first; or
    (``s.together``) all at once, so that every round meets them all with the
    machine in the same state, but sharing it. Each count starts with an
    unmeasured round of ``WARMUP_TOKENS`` tokens a stream.
    """
    groups = [list(s.variants)] if s.together else [[v] for v in s.variants]
    rows: list[Row] = []
    rounds: list[Round] = []
    for streams in s.streams:
        for group in groups:
            _rounds(procs, group, streams, WARMUP_TOKENS, s)
        done: dict[str, list[Round]] = {v: [] for v in s.variants}
        for i in range(s.repeat):
            for group in [*groups[i % len(groups) :], *groups[: i % len(groups)]]:
                for result in _rounds(procs, group, streams, s.tokens, s):
                    done[result.variant].append(result)
        plain = _row(done["plain"], None) if "plain" in done else None
        rows += [_row(done[v], plain) for v in s.variants]
        rounds += [r for v in s.variants for r in done[v]]
    return rows, rounds


@dataclass
class Memory:
    """``--sequential``: the tap proxy's resident set over sequential streams."""

    streams: int
    tokens: int
    every: int
    rss_bytes: list[tuple[int, int]]
    """``(streams done, VmRSS)`` pairs, from before the first stream."""
    growth: float
    """The last sample over the one after the first ``every`` streams, minus one."""
    flat: bool
    wall_s: float
    wrong: int
    errors: dict[str, int]
    metered_tokens: int


def run_sequential(proxy: Server, s: Settings) -> Memory:
    """``s.sequential`` unpaced streams one after another through the tap proxy, sampling
    its VmRSS every ``s.every``."""
    samples: list[tuple[int, int]] = []
    tally, key, start = Tally(), _key(), time.perf_counter()

    async def drive_sequential() -> None:
        request = _request(s.sequential_tokens, 0, key)
        async with httpx.AsyncClient(base_url=proxy.url, timeout=httpx.Timeout(60.0)) as client:
            samples.append((0, proxy.rss()))
            for done in range(1, s.sequential + 1):
                await _stream(client, request, True, tally)
                if done % s.every == 0 or done == s.sequential:
                    samples.append((done, proxy.rss()))

    asyncio.run(drive_sequential())
    wall = time.perf_counter() - start
    reference = samples[1][1] if len(samples) > 2 else samples[0][1]
    growth = samples[-1][1] / reference - 1
    return Memory(
        streams=s.sequential,
        tokens=s.sequential_tokens,
        every=s.every,
        rss_bytes=samples,
        growth=round(growth, 4),
        flat=growth < RSS_TOLERANCE,
        wall_s=round(wall, 2),
        wrong=tally.wrong,
        errors=dict(tally.errors),
        metered_tokens=_metered(proxy, key),
    )


def run(s: Settings, *, logs: Path | None = None) -> dict[str, Any]:
    """Starts the servers, runs the load and then the sequential streams, stops the servers.

    Returns plain data: ``settings``, ``load`` (a :class:`Row` per count and
    variant), ``rounds``, ``memory`` and what each server wrote to stderr.
    ``logs`` keeps the servers' stderr there.
    """
    if s.sequential and "tap" not in s.variants:
        raise ValueError("the sequential streams go through the tap proxy")
    pool = max([*s.streams, 100]) if s.pool is None else s.pool
    with contextlib.ExitStack() as stack:
        if logs is None:
            logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chunkfold-load-")))
        procs = stack.enter_context(
            servers(s.variants, pool=pool, keep_summaries=s.keep_summaries, logs=logs)
        )
        rows, rounds = run_load(procs, s)
        memory = run_sequential(procs["tap"], s) if s.sequential else None
        stderr = {name: server.stderr()[-20:] for name, server in procs.items() if server.stderr()}
    return {
        "settings": {**asdict(s), "pool": pool, "cpus": os.cpu_count()},
        "load": [asdict(r) for r in rows],
        "rounds": [asdict(r) for r in rounds],
        "memory": asdict(memory) if memory else None,
        "server_stderr": stderr,
    }


# --- the report -------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    """The results as text."""
    lines = []
    if results["load"]:
        head = (
            f"{'streams':>7}  {'variant':<8}{'chunks':>8}{'wall s':>7}{'proxy CPU s':>12}"
            f"{'CPU s/1k chunks':>16}{'(min-max)':>14}{'vs plain':>9}{'reads/chunk':>12}  check"
        )
        lines += [head, "-" * len(head)]
        for r in results["load"]:
            ratio = "" if r["vs_plain"] is None else f"{r['vs_plain']:.3f}"
            spread = "{:.3f}-{:.3f}".format(*r["spread"])
            lines.append(
                f"{r['streams']:>7}  {r['variant']:<8}{r['chunks']:>8}{r['wall_s']:>7.1f}"
                f"{r['proxy_cpu_s']:>12.2f}{r['cpu_s_per_1k_chunks']:>16.4f}{spread:>14}{ratio:>9}"
                f"{r['reads_per_chunk']:>12.2f}  {r['check']}"
            )
        s = results["settings"]
        together = "all proxies at once" if s["together"] else "one proxy at a time"
        other = max(r["other_cpu_s"] / r["wall_s"] for r in results["rounds"])
        lines.append(
            f"medians of {s['repeat']} rounds, {together}, of {s['tokens']} tokens a stream at "
            f"{s['rate']:g} tokens/s; chunks, wall and CPU time are per round; other processes "
            f"kept up to {other:.2f} of the {s['cpus']} CPUs busy during a round"
        )
    memory = results["memory"]
    if memory:
        mib = ", ".join(f"{done}: {rss / 2**20:.1f}" for done, rss in memory["rss_bytes"])
        lines += [
            "",
            f"tap proxy VmRSS in MiB after N of {memory['streams']} sequential streams of "
            f"{memory['tokens']} tokens ({memory['wall_s']:.0f} s): {mib}",
            f"growth after the first {memory['every']}: {memory['growth']:+.1%} "
            f"({'flat' if memory['flat'] else 'NOT flat'}: limit {RSS_TOLERANCE:.0%}); metered "
            f"{memory['metered_tokens']} of {memory['streams'] * memory['tokens']} tokens; "
            f"errors: {memory['errors'] or 'none'}; streams wrong: {memory['wrong']}",
        ]
    for name, errors in results["server_stderr"].items():
        lines += ["", f"{name} wrote to stderr (last lines):", *(f"  {e}" for e in errors)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add, d = parser.add_argument, Settings()
    add("--streams", type=int, nargs="*", default=d.streams, help="concurrent stream counts")
    add("--tokens", type=int, default=d.tokens, help="content tokens a stream")
    add("--rate", type=float, default=d.rate, help="tokens a second in each stream (0: unpaced)")
    add("--variants", nargs="+", choices=VARIANTS + OPTIONAL_VARIANTS, default=d.variants)
    add("--repeat", type=int, default=d.repeat, help="rounds a stream count; the table shows medians")
    add("--together", action="store_true", help="drive all the proxies at once in each round")
    add("--per-client", type=int, default=d.per_client, help="streams an httpx.AsyncClient (0: one)")
    add("--sequential", type=int, default=d.sequential, help="sequential streams for the memory check")
    add("--sequential-tokens", type=int, default=d.sequential_tokens)
    add("--every", type=int, default=d.every, help="sample VmRSS every this many sequential streams")
    add("--pool", type=int, default=d.pool, help="the proxies' upstream max_connections (0: httpx's 100)")
    add("--keep-summaries", action="store_true", help="keep the example's unbounded summaries list")
    add("--logs", type=Path, help="keep the servers' stderr in this directory")
    add("--json", type=Path, help="also write the results to this file")
    add("--serve", help=argparse.SUPPRESS)
    add("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.upstream, args.pool or 0, args.keep_summaries)
        return
    # SIGTERM's default ends the process at once; as an exception, it stops the servers first.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    options = {f.name: getattr(args, f.name) for f in fields(Settings)}
    settings = Settings(**{**options, "streams": tuple(args.streams), "variants": tuple(args.variants)})
    results = run(settings, logs=args.logs)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
