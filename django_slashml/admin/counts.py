"""How many rows a list holds: counted where that is cheap, the database's estimate where it is not.

``COUNT(*)`` reads every matching row, so on a table of millions it costs more than the page
it labels. PostgreSQL's planner estimates any query's rows without reading them (``EXPLAIN``);
MariaDB and MySQL keep an estimate of each table's rows. A result estimated to be small is
counted exactly; a large one is shown as an estimate ("about 1.2 million"). SQLite, and
MariaDB for filtered lists, have no cheap estimate and always count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from django.contrib.humanize.templatetags.humanize import intword
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.formats import number_format
from django.utils.translation import gettext

#: Results estimated below this are counted exactly: a count of this many rows is quick.
EXACT_BELOW = 10_000


@dataclass(frozen=True)
class RowCount:
    value: int
    exact: bool

    def __str__(self) -> str:
        if self.exact:
            return number_format(self.value, force_grouping=True)
        # Two significant figures: an estimate is not more precise than that.
        rounded = round(self.value, 2 - len(str(self.value)))
        shown = intword(rounded) if rounded >= 1_000_000 else number_format(rounded, force_grouping=True)
        return gettext("about %(count)s") % {"count": shown}


def estimate(rows: QuerySet[Any]) -> int | None:
    """The database's estimate of how many rows ``rows`` holds, or None where it has no cheap one."""
    vendor = connections[rows.db].vendor
    if vendor == "postgresql":
        plan = rows.order_by().explain(format="json")
        if not plan:  # a query that can match nothing (.none()) is never sent, so there is no plan
            return 0
        return int(json.loads(plan)[0]["Plan"]["Plan Rows"])
    if vendor == "mysql" and not rows.query.where:
        with connections[rows.db].cursor() as cursor:
            cursor.execute(
                "SELECT table_rows FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = %s",
                [rows.model._meta.db_table],
            )
            found = cursor.fetchone()
        return int(found[0]) if found and found[0] is not None else None
    return None


def count_rows(rows: QuerySet[Any]) -> RowCount:
    """The exact count if it is small or there is no estimate; else the estimate, marked as one."""
    guess = estimate(rows)
    if guess is None or guess < EXACT_BELOW:
        return RowCount(rows.count(), exact=True)
    return RowCount(guess, exact=False)


if TYPE_CHECKING:
    _PaginatorBase = Paginator[Any]
else:  # not subscriptable at runtime
    _PaginatorBase = Paginator


class EstimatedCountPaginator(_PaginatorBase):
    """Django's paginator, its count from :func:`count_rows`; ``row_count`` says whether it is exact.

    Beyond an estimate that is too high, the last pages are empty; below one too low, the oldest
    rows are reached by filtering rather than by page number.
    """

    @cached_property
    def row_count(self) -> RowCount:
        return count_rows(cast("QuerySet[Any]", self.object_list))

    @cached_property
    def count(self) -> int:
        return self.row_count.value
