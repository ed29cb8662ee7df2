"""gunicorn settings for the portal: `gunicorn -c deploy/gunicorn.conf.py kpuportal.wsgi`.

Uploads arrive from officers on slow links. With threaded workers a slow
request holds one thread, and `timeout` is only the heartbeat of a worker
process, so an upload that takes minutes is not killed at 30 s as with the
sync worker. In production a buffering proxy (nginx, deploy/ in the
never-dark setup) sits in front anyway: it takes the whole upload at the
client's pace and hands it to gunicorn at once, so slow clients never hold
a gunicorn thread at all. Every value can be overridden on the command line
or in GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 8))
# Heartbeat of a worker process (not a request deadline under gthread).
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so that a slow leak never grows for days.
max_requests = 20000
max_requests_jitter = 2000
# The heartbeat file in memory, not on a disk that may stall under load.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Request line and headers: gunicorn's defaults; the body size is Django's and the proxy's business.
accesslog = "-"
# gunicorn's control socket is one path per user ($HOME/.gunicorn): unused here, and
# two servers on one machine (tests, a second site) would fight over it.
control_socket_disable = True


def _stopped_flag():
    """Where nginx (deploy/nginx.conf) looks to skip the proxy and answer from the snapshot."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpuportal.settings")
    from django.conf import settings

    return settings.SNAPSHOT_ROOT / "gunicorn-stopped"


def post_worker_init(worker):
    """A worker has loaded the portal and serves from now on: nginx may proxy again."""
    try:
        _stopped_flag().unlink(missing_ok=True)
    except OSError as error:  # a read-only snapshot root: nginx keeps trying gunicorn, nothing worse
        worker.log.warning("could not remove %s: %s", error.filename, error.strerror)


def on_exit(server):
    """A clean stop (deploys, maintenance): readers get the snapshot at static-file speed, not a failed proxy."""
    flag = _stopped_flag()
    try:
        flag.parent.mkdir(parents=True, exist_ok=True)
        flag.touch()
    except OSError as error:
        server.log.warning("could not write %s: %s", error.filename, error.strerror)
