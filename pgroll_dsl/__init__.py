"""pgroll-dsl: zero-downtime PostgreSQL schema migrations, compatible with pgroll."""

__version__ = "0.1.0"
