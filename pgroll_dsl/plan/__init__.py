"""Planning: a checked migration and its catalog -> a Plan of start/complete/rollback steps."""
