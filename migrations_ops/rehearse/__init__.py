"""Rehearsal of a plan on a throw-away clone of the target's schema (and optionally a sample of its data)."""

from .report import PhaseReport, RehearsalReport, StepReport
from .run import inverse, rehearse_plan

__all__ = ["PhaseReport", "RehearsalReport", "StepReport", "inverse", "rehearse_plan"]
