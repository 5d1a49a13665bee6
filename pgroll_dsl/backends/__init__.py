"""Backends: a Plan run on a live database (the executor, its state, the live catalog).

The plan file, the same Plan as reviewable SQL, is rendered in ``render/plan_sql.py``: pure
text, no database driver.
"""
