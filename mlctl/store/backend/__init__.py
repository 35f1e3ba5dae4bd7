"""The team backend: runs on a PostgreSQL server named by ``backend.url`` instead of
``.mlctl/db/runs.sqlite`` (docs/backend.md). psycopg is imported only once a URL is set."""
