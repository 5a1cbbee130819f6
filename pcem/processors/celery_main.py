"""The Celery app for Celery's own command line, configured from the environment.

For `celery --app pcem.processors.celery_main inspect ping` (the worker's health
check) and other inspection; PCEM's processes start through `pcem worker` and
`pcem scheduler`. Building the app connects to nothing.
"""

from __future__ import annotations

import os

from pcem.processors.tasks import create_celery
from pcem.settings import load_settings

app = create_celery(load_settings(os.environ))
