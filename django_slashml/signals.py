"""Signals sent when a transcription job changes state.

All are sent with ``sender=TranscriptionJob`` and ``job=`` (the updated instance),
once per committed transition, inside the transaction that makes the transition:

``transcription_status_changed``
    every transition; also ``old_status=`` and ``new_status=``.
``transcription_completed``
    the job reached ``COMPLETED``; ``job.text`` and ``job.words`` are filled.
``transcription_failed``
    the job reached ``ERROR``; also ``error=`` (the message stored on the job).
``transcription_reviewed``
    a reviewer approved a transcript, asked for a correction or corrected it; also
    ``reviewer=`` (the user) and ``review_state=``.

What a receiver writes to the database commits or rolls back with the
transition. A receiver that raises is logged and its own writes are rolled back
(it runs in a savepoint); the transition and the other receivers stand, unless
the savepoint itself cannot be rolled back (the connection is gone): then the
transition is lost too, and the error reaches the code that made it. Put
external side effects (email, HTTP calls) in ``transaction.on_commit`` so they
happen only once the transition is committed. A receiver that acts on only some
transitions can say so with :func:`only_when`: the others then cost no savepoint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from django.db import transaction
from django.dispatch import Signal

__all__ = [
    "TransitionSignal",
    "only_when",
    "transcription_completed",
    "transcription_failed",
    "transcription_reviewed",
    "transcription_status_changed",
]

logger = logging.getLogger("django_slashml.signals")

Receiver = TypeVar("Receiver", bound=Callable[..., Any])


def only_when(condition: Callable[..., bool]) -> Callable[[Receiver], Receiver]:
    """Mark a receiver to run only when ``condition(**kwargs)`` holds (the signal's keyword arguments).

    Every receiver runs in a savepoint of its own, two round trips on PostgreSQL; a receiver
    whose condition is false is skipped before its savepoint is opened::

        @receiver(transcription_status_changed, sender=TranscriptionJob)
        @only_when(lambda old_status, **kwargs: old_status == "COMPLETED")
        def left_completed(job, **kwargs): ...
    """

    def mark(receiver: Receiver) -> Receiver:
        receiver.slashml_only_when = condition  # type: ignore[attr-defined]
        return receiver

    return mark


class TransitionSignal(Signal):
    """A signal whose receivers each run in their own savepoint."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def _sync_and_async_receivers(self, sender: Any) -> list[tuple[Any, Any]]:
        """(receiver as connected, what to call): async receivers are called through async_to_sync."""
        sync_receivers, async_receivers = self._live_receivers(sender)
        return [(r, r) for r in sync_receivers] + [(r, async_to_sync(r)) for r in async_receivers]

    def connected_receivers(self, sender: Any) -> list[Any]:
        """The receivers a send by ``sender`` would call, as they were connected (living ones only)."""
        return [connected for connected, _ in self._sync_and_async_receivers(sender)]

    def send_in_transaction(self, sender: Any, *, using: str | None = None, **named: Any) -> list[tuple[Any, Any]]:
        """Call each receiver in a savepoint on database ``using`` (the default one if None)."""
        if not self.receivers:
            return []
        responses: list[tuple[Any, Any]] = []
        for connected, call in self._sync_and_async_receivers(sender):
            condition = getattr(connected, "slashml_only_when", None)
            try:
                if condition is not None and not condition(sender=sender, **named):
                    continue
                with transaction.atomic(using=using):
                    response = call(signal=self, sender=sender, **named)
            except Exception as error:
                if transaction.get_connection(using).in_atomic_block and transaction.get_rollback(using):
                    # Its savepoint could not be rolled back (the connection is gone), so the
                    # transaction around it, the transition's, is lost too: say so, rather than
                    # let it end as if the transition had been written.
                    raise
                logger.exception(
                    "A receiver of %s raised; its writes were rolled back, the transition stands.",
                    self.name,
                    extra={"receiver": repr(connected)},
                )
                responses.append((connected, error))
            else:
                responses.append((connected, response))
        return responses


transcription_status_changed = TransitionSignal("transcription_status_changed")
transcription_completed = TransitionSignal("transcription_completed")
transcription_failed = TransitionSignal("transcription_failed")
transcription_reviewed = TransitionSignal("transcription_reviewed")
