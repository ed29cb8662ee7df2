"""The Celery app: configured from Django settings (the CELERY_* names)."""

import logging
import os
from importlib import import_module

from celery import Celery
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpuportal.settings")

app = Celery("kpuportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

log = logging.getLogger(__name__)


def task_queue(task_name, *args, countdown=None):
    """Queue now, to run at once or `countdown` seconds from now. With the broker down or hanging this gives up
    after a short timeout (see CELERY_BROKER_TRANSPORT_OPTIONS): the work is durable and the sweeper queues it later."""
    # The task registers itself when its module is imported, which a web process may not have done yet.
    import_module(task_name.rpartition(".")[0])
    try:
        app.tasks[task_name].apply_async(args, countdown=countdown, retry=False)
    except BrokerUnavailable:
        log.warning("broker unreachable: %s%r waits for the sweeper", task_name, args)


def task_queue_on_commit(task_name, *args):
    """Queue once the rows the task reads are committed; whatever happens then, the request has succeeded."""

    def queue():
        task_queue(task_name, *args)

    transaction.on_commit(queue, robust=True)
