"""Several instances on one PostgreSQL: leader election and cross-instance locks."""
