"""Domain model: aggregates that hold PCEM's rules. No web, SQL or Celery imports."""
