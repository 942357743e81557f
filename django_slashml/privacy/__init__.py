"""PII redaction and custom spelling of transcripts, done by the app on the word timings.

Pure functions over words and text: nothing here reads the database or knows about jobs.
:mod:`~django_slashml.privacy.transcript` is the entry point; the job's side (when it runs,
what is stored) lives in :mod:`django_slashml.jobs.lifecycle`.
"""
