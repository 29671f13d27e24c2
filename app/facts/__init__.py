"""Customer facts: what every classification reads about a tenant's customers.

The tenant's field catalog (`fields`), metrics as of a date (`metrics`), every catalog
field as a SQL column and conditions compiled over customers (`columns`), values
materialised for many customers or read for a few (`values`), the tenant's today
(`today`), and which rules reference a category or a field (`references`).

This floor sits below every domain package: customers, fields, categories and rules call
down into it; it imports only `app.core`, `app.models`, the catalog types (`app.catalog`)
and the rule language (`app.rules.language`).
"""
