"""Settings of the suite's Celery worker subprocess (tests/worker.py starts it with these).

The suite's settings, then what the test process tells the worker through its environment: the
test database (DATABASE_URL, set to pytest-django's test database), the queue (TP_TEST_QUEUE),
and, with TP_TEST_POSTMARK_URL, the fake Postmark server of tests/mail_config.py. Without it the
mail backend comes from EMAIL_BACKEND / EMAIL_FILE_PATH, as for a test of the non-HTTP path.
"""

import os

from tests.mail_config import fake_provider_settings
from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, TEMPLATES

if postmark_url := os.environ.get("TP_TEST_POSTMARK_URL"):
    globals().update(fake_provider_settings(postmark_url, TEMPLATES))
if file_path := os.environ.get("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = file_path

# Named, so the suite can wait until every session of this worker has left the test database
# before pytest-django drops it.
DATABASES["default"]["OPTIONS"]["application_name"] = os.environ.get("TP_TEST_WORKER_NAME", "tests-worker")
# The worker answers no broadcast: a dev worker on the same Redis must not see or answer ours.
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
