"""The job engine: where a job's status changes and how it moves from upload to transcript.

``actions`` holds the public entry points (``transcribe``, ``retry``, ``cancel``);
``lifecycle`` is the only place a status is written; ``pipeline`` runs one step of a job
under a lease; ``scheduling`` decides when the next poll is due; ``dispatch`` sends the
Celery messages; ``sweeper`` re-dispatches what was lost; ``reuse`` shares SlashML work
between jobs on the same audio; ``uploads`` and ``retention`` keep ``AudioUpload`` rows
and their files.
"""
