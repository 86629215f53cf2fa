"""The exceptions DistillWatch raises for expected failures, under one root.

Every class derives from ``DistillWatchError``, so the worker and the CLI catch one type and
print its message as one line.  Each also keeps the built-in base it replaced (``ValueError``,
``RuntimeError``), so callers catching those still do.  Programming errors (a wrong argument
type, a missing key) stay built-in exceptions.

This module imports nothing from the project: ``streams.config`` and every other module may
import it.
"""

from __future__ import annotations


class DistillWatchError(Exception):
    """Root of DistillWatch's own exceptions; its message is one line for an operator."""


class ConfigError(DistillWatchError, ValueError):
    """A setting is out of range or inconsistent with another one."""


class CodecError(DistillWatchError, ValueError):
    """A record a decoder refused; ``reason`` is a dead-letter reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class EncodeError(DistillWatchError, ValueError):
    """A record cannot be written on the wire as it is (missing or shadowed fields)."""


class TimestampError(DistillWatchError, ValueError):
    """A timestamp is not RFC 3339 with an offset, or falls outside the accepted window."""


class StateError(DistillWatchError, ValueError):
    """Checkpointed state is corrupt or of a version this code does not read."""


class SignatureError(DistillWatchError, ValueError):
    """A signature cannot be compiled or learned (bad pattern, empty validity, no indicators)."""


class StixError(DistillWatchError, ValueError):
    """A STIX bundle DistillWatch refuses; the message names the object and the problem."""


class GrammarError(DistillWatchError, ValueError):
    """A simulator template is malformed (unbalanced braces or an unterminated slot)."""


class SimulationError(DistillWatchError, ValueError):
    """A simulation was asked for something it cannot produce (unknown scenario, no hours)."""


class InputFileError(DistillWatchError, ValueError):
    """A file given to a command is not what it must be (not JSON, not the expected shape)."""


class TopicsFileError(DistillWatchError, ValueError):
    """The topics declarations file is malformed; nothing was applied."""


class KafkaConnectionError(DistillWatchError, RuntimeError):
    """The broker cannot be reached, or it refused this process's credentials or TLS."""


class KafkaRequestError(DistillWatchError, RuntimeError):
    """The broker was reached but answered a request with an error (authorization, a bad
    configuration, an unknown topic at produce time)."""


class TopicReadError(DistillWatchError, RuntimeError):
    """A topic to read does not exist, or the broker failed while it was read."""


class TopicLayoutError(DistillWatchError, RuntimeError):
    """A topic the service needs is not declared on the broker, or has too few partitions."""


class DeliveryError(DistillWatchError, RuntimeError):
    """Records were not all delivered to their topic in time."""


class WorkerStartError(DistillWatchError, RuntimeError):
    """A worker a tool started exited early or was not ready in time."""
