"""Health of a target over time, and search parity of a copied full-text table.

- ``take_reading(target)`` -> ``HealthReading``: activity, database counters
  and size, largest tables, tables to analyze or vacuum, index use and
  duplicates, top statements (pg_stat_statements, or why not);
- ``point_of``, ``rates``, ``statement_deltas``, ``window_figures``: the
  cumulative counters turned into rates and before/after comparisons;
- ``line_chart`` draws a figure over time as SVG;
- ``search_parity(...)`` runs the same queries in SQLite FTS5 and
  PostgreSQL full-text search and compares the matching keys.
"""

from .chart import ChartPoint, human, line_chart
from .deltas import (
    Point,
    Rates,
    StatementDelta,
    WindowFigures,
    point_of,
    rates,
    statement_deltas,
    window_figures,
)
from .models import HealthReading, IndexUse, Statement
from .reading import HOW_TO_ENABLE_STATEMENTS, read_health, take_reading

__all__ = [
    "HOW_TO_ENABLE_STATEMENTS", "ChartPoint", "HealthReading", "IndexUse", "Point", "Rates", "Statement",
    "StatementDelta", "WindowFigures", "human", "line_chart", "point_of", "rates", "read_health",
    "statement_deltas", "take_reading", "window_figures",
]
