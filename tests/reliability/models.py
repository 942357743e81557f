from __future__ import annotations

from django.db import models


class SignalRecord(models.Model):
    """One signal sent for one job, written inside the transition's transaction.

    A row exists only if the transition committed, so counting rows counts the signals a
    host project would have seen take effect, whichever process sent them.
    """

    job_id = models.UUIDField(db_index=True)
    signal = models.CharField(max_length=40)
    new_status = models.CharField(max_length=12, blank=True)
    pid = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.signal} {self.new_status} for {self.job_id}"
