"""A paginator for the audit list: on a million events, counting them all is most of the page's time.

Filtered lists are counted exactly. The whole trail, when the planner's
estimate says it is large, shows the estimate (``pg_class.reltuples``),
and the page says "about"; the export and the chain check still read every row.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

ESTIMATE_FROM = 200_000


class EstimatedCountPaginator(Paginator):
    estimated = False

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is not None and not query.where:
            with connection.cursor() as cur:
                cur.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                            [self.object_list.model._meta.db_table])
                row = cur.fetchone()
            if row and row[0] >= ESTIMATE_FROM:
                self.estimated = True
                return int(row[0])
        return super().count
