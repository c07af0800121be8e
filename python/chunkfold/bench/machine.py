"""The machine a bench run measured, and the progress bar it draws meanwhile."""

from __future__ import annotations

import os
import platform
import shutil
import struct
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

import chunkfold._core

__all__ = ["Progress", "machine"]

_PACKAGES = (
    "chunkfold",
    "msgspec",
    "openai",
    "anthropic",
    "httpx2",
    "httpx",
    "httpx-sse",
    "orjson",
    "matplotlib",
)


class Progress:
    """A one-line progress bar on a terminal stream, drawn without dependencies.

    Disabled (it writes nothing) unless ``enabled`` and the stream is a TTY.
    """

    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = enabled and callable(isatty) and bool(isatty())
        self._started = time.monotonic()

    def update(self, label: str) -> None:
        """Shows ``label`` as the item now running."""
        if not self.enabled:
            return
        width = shutil.get_terminal_size((80, 20)).columns - 1
        head = f" {self.done:>{len(str(self.total))}}/{self.total} {time.monotonic() - self._started:4.0f}s "
        bar = max(10, min(30, width - len(head) - len(label) - 2))
        filled = bar * self.done // self.total
        line = f"[{'#' * filled}{'.' * (bar - filled)}]{head}{label}"
        self.stream.write("\r" + line[:width].ljust(width))
        self.stream.flush()

    def advance(self) -> None:
        """Counts one item as done."""
        self.done += 1

    def close(self) -> None:
        """Clears the bar's line."""
        if self.enabled:
            self.stream.write("\r" + " " * (shutil.get_terminal_size((80, 20)).columns - 1) + "\r")
            self.stream.flush()


def machine() -> dict[str, Any]:
    """The machine and software a run measured: CPU, Python, package versions, build."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "rustc": _rustc_version(),
        "chunkfold_build": "debug" if _debug_build() else "release",
        "packages": versions,
    }


def _rustc_version() -> str | None:
    """``rustc --version`` of the toolchain on PATH (the one ``maturin develop`` uses)."""
    rustc = shutil.which("rustc")
    if rustc is None:
        return None
    try:
        done = subprocess.run([rustc, "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def _debug_build() -> bool:
    """Whether the extension has a ``.debug_info`` section, as an unoptimised build has.

    Only the section headers are read: the string also occurs inside the code
    of a release build (Rust's backtrace support names it).
    """
    try:
        data = Path(chunkfold._core.__file__ or "").read_bytes()
    except OSError:
        return False
    if data[:6] != b"\x7fELF\x02\x01":  # not 64-bit little-endian ELF: cannot tell
        return False
    try:
        (table,) = struct.unpack_from("<Q", data, 0x28)
        size, count, names_index = struct.unpack_from("<HHH", data, 0x3A)
        names = struct.unpack_from("<Q", data, table + names_index * size + 0x18)[0]
        for i in range(count):
            (name,) = struct.unpack_from("<I", data, table + i * size)
            start = names + name
            if data[start : data.index(b"\0", start)] == b".debug_info":
                return True
    except (struct.error, ValueError):
        return False
    return False
