"""Intake: how leads come in. `segment` parses Segment messages (pure), `events_api` is the
Segment-compatible event API (a django-ninja Router mounted on `leads.api`),
`ingest` writes a batch of events, `imports` parses and maps CSV files (pure), `import_services` runs an import
job, `import_views`/`import_urls`/`forms_import` are its pages and `import_tasks` its Celery task.

Modules are imported by name (`from leads.intake import ingest`); this package imports nothing itself.
"""
