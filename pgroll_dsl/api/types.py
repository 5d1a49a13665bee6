"""The model types the API's functions take and return, under one name each, for annotations.

``Plan`` (``Planned.plan``), ``SavedPlan`` (``read_saved_plan``) and ``Catalog``
(``load_catalog``) live in the layers below the API; a caller annotates with these names
instead of reaching into them. Importing this module loads the planner's model.
"""

from __future__ import annotations

from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.plan.model import Plan
from pgroll_dsl.render.report import MigrationSummary, Report
from pgroll_dsl.render.saved_plan import SavedPlan

__all__ = ["Catalog", "MigrationSummary", "Plan", "Report", "SavedPlan"]
