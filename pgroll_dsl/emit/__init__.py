"""Emitters: IR -> canonical DSL text, IR -> pgroll JSON/YAML documents."""
