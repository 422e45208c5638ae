"""Worker processes: where runs execute (bpa/worker/runtime.py), fed by the database or by
Celery (bpa/worker/celery_app.py)."""
