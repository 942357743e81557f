"""The job row's hand-written SQL: the statements every step runs, each in one round trip.

A job's lease taken and its row read in one statement, ``UPDATE ... RETURNING``: Django's
``QuerySet.update`` returns a count, not rows, so taking the lease and then
reading the job cost two round trips per step. PostgreSQL and SQLite (3.35 and later)
both return the updated row; :func:`instance_of` turns it into a model instance with every
field's converters applied, as a normal query would. Other databases (an older SQLite) take
the lease and read the row in two statements. All of it runs on :func:`jobs_db`, the
database the project's router writes jobs to.

The write that ends a step, with its events and companions (:func:`update_with_companions`):
one statement on PostgreSQL, built around the UPDATE that Django compiles.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast
from uuid import UUID
from weakref import WeakKeyDictionary

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Case, F, Model, PositiveIntegerField, Q, QuerySet, When
from django.db.models.sql.subqueries import UpdateQuery

from django_slashml.models import JobEvent, JobStatus, TranscriptionJob

_M = TypeVar("_M", bound=Model)


def jobs_db() -> BaseDatabaseWrapper:
    """The connection the hand-written SQL runs on: where the router writes jobs (a replica may lag)."""
    return connections[router.db_for_write(TranscriptionJob)]


def quoted_column(model: type[Model], name: str, db: BaseDatabaseWrapper) -> str:
    """The database column of ``model``'s field ``name``, quoted for hand-written SQL."""
    field = model._meta.get_field(name)
    return db.ops.quote_name(str(getattr(field, "column", name)))


def claim_returning(
    job_id: UUID, *, owner: str, now: datetime, due_by: datetime, expires: datetime, statuses: Sequence[str]
) -> TranscriptionJob | None:
    """The job with its lease taken by ``owner``, or None if it is not active, not due, or held by a live worker.

    An abandoned lease (still set when taken) counts one failure, as a worker that died mid-step.
    Taking a PENDING job counts a submit attempt in the same statement, before anything is sent:
    SlashML has no idempotency key, so a worker that dies mid-POST must still leave its count.
    A step that ends up sending no submit gives the count back (:func:`~django_slashml.jobs.lifecycle.unsent_submit`).
    """
    db = jobs_db()
    if not returns_rows(db):
        return _claim_then_read(job_id, owner=owner, now=now, due_by=due_by, expires=expires, statuses=statuses)
    ops, meta = db.ops, TranscriptionJob._meta

    def _column(name: str) -> str:
        return quoted_column(TranscriptionJob, name, db)

    owner_col, expires_col, failures, submits, status = (
        _column("lease_owner"),
        _column("lease_expires_at"),
        _column("consecutive_failures"),
        _column("submit_attempts"),
        _column("status"),
    )
    marks = ", ".join(["%s"] * len(statuses))
    sql = (
        f"UPDATE {ops.quote_name(meta.db_table)} SET {owner_col} = %s, {expires_col} = %s, "  # noqa: S608 (names are quoted, values are parameters)
        f"{failures} = CASE WHEN {owner_col} = '' THEN {failures} ELSE {failures} + 1 END, "
        f"{submits} = CASE WHEN {status} = %s THEN {submits} + 1 ELSE {submits} END "
        f"WHERE {_column('id')} = %s AND {status} IN ({marks}) AND {_column('next_poll_at')} <= %s "
        f"AND ({expires_col} IS NULL OR {expires_col} <= %s) RETURNING *"
    )
    params = [
        owner,
        ops.adapt_datetimefield_value(expires),
        JobStatus.PENDING,
        meta.pk.get_db_prep_value(job_id, db),
        *statuses,
        ops.adapt_datetimefield_value(due_by),
        ops.adapt_datetimefield_value(now),
    ]
    found = select(db, sql, params)
    return instance_of(db, TranscriptionJob, found[0]) if found else None


def select(db: BaseDatabaseWrapper, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    """The rows of hand-written SQL, each as its columns by name, as the database driver returns them."""
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


_Converter = Callable[[Any, Any, Any], Any]
_FieldConverters = list[tuple[Any, Any, list[_Converter]]]
#: By connection object (one per thread and alias: its operations are bound to it), then by model.
_converters: WeakKeyDictionary[BaseDatabaseWrapper, dict[type[Model], _FieldConverters]] = WeakKeyDictionary()


def _fields_with_converters(db: BaseDatabaseWrapper, model: type[Model]) -> _FieldConverters:
    """Each concrete field of ``model``, its column expression and converters, as Django's compiler applies them."""
    by_model = _converters.setdefault(db, {})
    if model not in by_model:
        found = []
        for field in model._meta.concrete_fields:
            column = field.get_col(model._meta.db_table)
            found.append((field, column, [*db.ops.get_db_converters(column), *column.get_db_converters(db)]))
        by_model[model] = found
    return by_model[model]


def instance_of(db: BaseDatabaseWrapper, model: type[_M], columns: dict[str, Any], *, prefix: str = "") -> _M:
    """The ``model`` instance held in ``columns`` (under ``prefix`` + each column's name), read as the ORM reads it.

    Cheaper than :meth:`~django.db.models.query.QuerySet.raw`, which works out its columns, their
    order and converters anew for every query: a step runs two or three of these.
    """
    names, values = [], []
    for field, column, converters in _fields_with_converters(db, model):
        value = columns[prefix + field.column]
        for convert in converters:
            value = convert(value, column, db)
        names.append(field.attname)
        values.append(value)
    return model.from_db(db.alias, names, values)


def returns_rows(db: BaseDatabaseWrapper) -> bool:
    """Whether the database returns rows from an UPDATE: PostgreSQL, and SQLite from 3.35 on."""
    vendor = db.vendor
    if vendor == "postgresql":
        return True
    if vendor == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version_info >= (3, 35)
    return False


def _claim_then_read(
    job_id: UUID, *, owner: str, now: datetime, due_by: datetime, expires: datetime, statuses: Sequence[str]
) -> TranscriptionJob | None:
    """The same claim in two statements, for databases that cannot return rows from an UPDATE."""
    taken = (
        TranscriptionJob.objects.filter(pk=job_id, status__in=statuses, next_poll_at__lte=due_by)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .update(
            # Before lease_owner: MySQL assigns left to right, and the CASE must read the old owner.
            consecutive_failures=Case(
                When(lease_owner="", then=F("consecutive_failures")),
                default=F("consecutive_failures") + 1,
            ),
            submit_attempts=Case(
                When(status=JobStatus.PENDING, then=F("submit_attempts") + 1),
                default=F("submit_attempts"),
                output_field=PositiveIntegerField(),
            ),
            lease_owner=owner,
            lease_expires_at=expires,
        )
    )
    return TranscriptionJob.objects.get(pk=job_id) if taken else None


# -- the write that ends a step -------------------------------------------------


@dataclass(frozen=True)
class Companion:
    """An UPDATE that rides along with a job's closing write (:mod:`~django_slashml.jobs.closing`)."""

    queryset: QuerySet[Any]
    fields: dict[str, Any]


def update_with_companions(
    queryset: QuerySet[TranscriptionJob],
    fields: dict[str, Any],
    *,
    events: Sequence[JobEvent] = (),
    companions: Sequence[Companion] = (),
) -> int:
    """UPDATE ``queryset`` with ``fields``, INSERT ``events`` if a row was updated, run ``companions``.

    Returns the number of job rows updated. On PostgreSQL this is one statement: the job's
    UPDATE in a data-modifying CTE that the events' INSERT reads (so they are written only when
    it wins), and each companion UPDATE in a CTE of its own. Elsewhere, one statement each.
    """
    alias = _write_alias(queryset)
    db = connections[alias]
    # What shares the job's database goes into its statement; anything a router sends elsewhere stays apart.
    inline: list[Companion] = []
    for companion in companions:
        if _write_alias(companion.queryset) == alias:
            inline.append(companion)
        else:
            companion.queryset.update(**companion.fields)
    together = bool(events) and router.db_for_write(JobEvent) == alias
    one_statement = db.vendor == "postgresql" and (together or bool(inline))
    if one_statement:
        updated = _in_one_statement(db, queryset.using(alias), fields, events if together else (), inline)
    else:
        updated = queryset.update(**fields)
        for companion in inline:
            companion.queryset.update(**companion.fields)
    if updated and events and not (one_statement and together):
        JobEvent.objects.bulk_create(events)
    return updated


def _in_one_statement(
    db: BaseDatabaseWrapper,
    queryset: QuerySet[TranscriptionJob],
    fields: dict[str, Any],
    events: Sequence[JobEvent],
    companions: Sequence[Companion],
) -> int:
    """PostgreSQL: the job's UPDATE as a CTE, ``events`` inserted only if it updated a row, ``companions`` beside."""
    update_sql, params = _update_sql(queryset, fields)
    parts = [f"moved AS ({update_sql} RETURNING 1)"]
    values: list[Any] = list(params)
    if events:
        table = db.ops.quote_name(JobEvent._meta.db_table)
        columns = ", ".join(db.ops.quote_name(field.column) for field in _event_fields())
        parts.append(
            f"logged AS (INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608 (names are quoted, values are parameters)
            f"FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb) WHERE EXISTS (SELECT 1 FROM moved))"
        )
        values.append(_events_json(events))
    for index, companion in enumerate(companions):
        sql, companion_params = _update_sql(companion.queryset.using(db.alias), companion.fields)
        parts.append(f"also{index} AS ({sql})")
        values += companion_params
    with db.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} SELECT count(*) FROM moved", values)  # noqa: S608 (compiled by Django)
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _write_alias(queryset: QuerySet[Any]) -> str:
    """The database ``queryset.update()`` would write to: the one it names, else the router's."""
    return getattr(queryset, "_db", None) or router.db_for_write(queryset.model)


def _update_sql(queryset: QuerySet[Any], fields: dict[str, Any]) -> tuple[str, Sequence[Any]]:
    """The SQL that ``queryset.update(**fields)`` would run, compiled by Django the same way."""
    query = cast(UpdateQuery, queryset.query.chain(UpdateQuery))
    query.add_update_values(fields)
    query.annotations = {}
    sql, params = query.get_compiler(queryset.db).as_sql()
    return sql, params


def _event_fields() -> list[Any]:
    meta = JobEvent._meta
    # As bulk_create: neither the id the database assigns nor a column it generates.
    return [
        field
        for field in meta.concrete_fields
        if field is not meta.auto_field and not getattr(field, "generated", False)
    ]


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()  # full precision: DjangoJSONEncoder would cut it to milliseconds
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _events_json(events: Sequence[JobEvent]) -> str:
    """The events as a JSON array of rows keyed by column, for ``jsonb_populate_recordset``."""
    fields = _event_fields()
    records = [{field.column: field.value_from_object(event) for field in fields} for event in events]
    return json.dumps(records, default=_json_value, ensure_ascii=False)
