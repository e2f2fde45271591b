"""The Alembic environment and revisions, shipped inside the package so an installed wheel can migrate.

`app.migrate` points Alembic here in code; the top-level `alembic.ini` does the same for `alembic` run by hand
from a checkout (e.g. `alembic revision --autogenerate`). Alembic loads these files by path: nothing imports them.
"""
