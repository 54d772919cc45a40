"""Shared by py_ws_legacy.py (mcp 1.x) and py_ws_modern.py (mcp 2.x): the PASS/FAIL report,
and the capture of everything the client side prints or reports.

Captured: writes to sys.stdout/sys.stderr (the report itself writes to the real stdout),
every warning (all categories, shown every time), and every log record at WARNING or above
from any logger. A check fails when it raises, when its expectation is not met, or when
anything was captured while it ran; `finish()` fails once more if anything was captured at
any time. Only the warnings passed to `Harness(expected_warnings=...)` are accepted, and
they are named in the last PASS line.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

STEP_TIMEOUT = 20.0  # seconds per check

if sys.version_info < (3, 11):  # anyio brings the backport on 3.10
    from exceptiongroup import BaseExceptionGroup


class Failure(Exception):
    """A check's expectation was not met."""


def expect(cond: object, message: str) -> None:
    if not cond:
        raise Failure(message)


def unwrap(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def describe(exc: BaseException) -> str:
    exc = unwrap(exc)
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return f"no answer within {STEP_TIMEOUT:.0f} s"
    text = str(exc).strip().replace("\n", " | ")
    return f"{type(exc).__name__}: {text[:800]}"


class _Sink(io.TextIOBase):
    def __init__(self, harness: Harness, name: str) -> None:
        self.harness = harness
        self.name = name

    def write(self, s: str) -> int:
        if s.strip():
            self.harness.note(f"{self.name}: {s.strip()}")
        return len(s)


class _LogRecorder(logging.Handler):
    def __init__(self, harness: Harness) -> None:
        super().__init__(level=logging.WARNING)
        self.harness = harness

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({describe(record.exc_info[1])})"
        self.harness.note(f"log {record.levelname} {record.name}: {text}")


class Harness:
    def __init__(self, label: str, expected_warnings: tuple[tuple[type[Warning], str], ...] = ()) -> None:
        self.label = label
        self.passed = 0
        self.failed = 0
        self.captured: list[tuple[str, str]] = []  # (step, what)
        self.step = "startup"
        self.expected_warnings = expected_warnings
        self.accepted: set[str] = set()
        self.out = sys.stdout
        sys.stdout = _Sink(self, "stdout")
        sys.stderr = _Sink(self, "stderr")
        warnings.simplefilter("always")
        warnings.showwarning = self._warning
        root = logging.getLogger()
        root.handlers[:] = [_LogRecorder(self)]
        root.setLevel(logging.WARNING)

    def _warning(self, message: Any, category: type[Warning], filename: str, lineno: int, *_: Any) -> None:
        text = str(message)
        for cat, prefix in self.expected_warnings:
            if issubclass(category, cat) and text.startswith(prefix):
                self.accepted.add(f"{category.__name__}: {text.split('. ')[0]}")
                return
        self.note(f"warning {category.__name__} at {filename}:{lineno}: {text}")

    def note(self, what: str) -> None:
        self.captured.append((self.step, what))

    def emit(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def ok(self, check: str, detail: str = "") -> None:
        self.passed += 1
        self.emit(f"PASS [{self.label}] {check}{': ' + detail if detail else ''}")

    def fail(self, check: str, why: str) -> None:
        self.failed += 1
        self.emit(f"FAIL [{self.label}] {check}: {why[:1500]}")

    async def check(self, name: str, fn: Callable[[], Awaitable[str | None]], bounded: bool = True) -> bool:
        """Runs one check; True when it passed. A check that enters or leaves the SDK's
        long-lived contexts (task groups) passes bounded=False and bounds its own waits:
        a cancel scope around it would be exited while theirs are still open."""
        self.step = name
        before = len(self.captured)
        error: BaseException | None = None
        detail: str | None = None
        try:
            # In this task (not asyncio.wait_for's): a check may enter the SDK's task groups.
            if bounded:
                with anyio.fail_after(STEP_TIMEOUT):
                    detail = await fn()
            else:
                detail = await fn()
        except Exception as exc:  # noqa: BLE001 - every failure is reported
            error = exc
            if os.environ.get("INTEROP_DEBUG"):
                traceback.print_exception(exc, file=self.out)
        await asyncio.sleep(0.05)
        printed = list(dict.fromkeys(what for _, what in self.captured[before:]))
        if error is not None:
            extra = f"; the client printed: {' || '.join(printed)}" if printed else ""
            self.fail(name, describe(error) + extra)
            return False
        if printed:
            self.fail(name, f"the call succeeded but the client printed/reported: {' || '.join(printed)}")
            return False
        self.ok(name, detail or "")
        return True

    def skip(self, name: str, why: str) -> None:
        self.fail(name, f"not run: {why}")

    def finish(self) -> int:
        self.step = "end"
        everything = list(dict.fromkeys(f"[during {step}] {what}" for step, what in self.captured))
        name = "the client printed no error and no warning in the whole session"
        if everything:
            self.fail(name, " || ".join(everything))
        else:
            accepted = "; ".join(sorted(self.accepted))
            self.ok(name, f"accepted only the SDK's own notice: {accepted}" if accepted else "")
        self.emit(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0
