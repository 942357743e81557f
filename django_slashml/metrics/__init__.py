"""Prometheus metrics for operators, read from the database at scrape time.

Counters kept in a Celery worker's memory are invisible to the web process Prometheus
scrapes, and lost with the worker; the job table and the event log are shared by every
process, so :mod:`~django_slashml.metrics.collector` reads them when ``/metrics`` is
scraped. Needs the ``metrics`` extra (``prometheus-client``); one URL include exposes it
(:mod:`~django_slashml.metrics.urls`), behind a bearer token or an address allow-list.
"""
