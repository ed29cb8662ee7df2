"""Never dark, on real processes: nginx with deploy/nginx.conf in front of gunicorn, while its parts fail.

Every process listens on a loopback port of its own and is stopped at the end
of its test: gunicorn (deploy/gunicorn.conf.py), nginx, a Celery worker, a
redis-server and a throwaway PostgreSQL cluster. The shared PostgreSQL on
5432 holds the test database and is never stopped.
"""

import getpass
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.test import Client

from results.models import Tally
from results.services import tally_enter
from snapshot.services import current_dir, snapshot_build, snapshot_file, snapshot_files
from tests.factories import UserFactory
from tests.results import conftest as results_fixtures
from tests.results.conftest import c1
from tests.results.test_public_pages import numbers_in
from tests.servers import collectstatic, free_port
from tests.uploads import images
from tests.uploads.test_gunicorn import logged_in_session
from tests.uploads.test_worker import Broker, wait_for
from uploads.models import Scan, UploadBatch

ROOT = Path(__file__).resolve().parent.parent
# The results tests' contest and officers (fixtures).
governor, officers = results_fixtures.governor, results_fixtures.officers
pytestmark = [pytest.mark.postgres, pytest.mark.nginx, pytest.mark.django_db(transaction=True)]
BANNER = 'class="static-copy"'
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".json": "application/json", ".csv": "text/csv; charset=utf-8"}
# Pages the live site answers without its database: they are served live all along.
NO_DATABASE = {"/api/v1/openapi.json", "/cek-digest/", "/en/cek-digest/"}
TEMPLATE_NAME = re.compile(r"\$\{(KPU_[A-Z_]+)\}")


def get(url, **options):
    return requests.get(url, timeout=15, allow_redirects=False, **options)


def answers(url):
    try:
        return get(url).status_code == 200
    except requests.RequestException:
        return False


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Processes:
    """Every process a test starts, each in a session of its own, all stopped when the test ends."""

    def __init__(self, directory):
        self.directory = directory
        self.started = []

    def start(self, name, command, env, ready, timeout=60):
        log = self.directory / f"{name}-{len(self.started)}.log"
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            # Appending: nginx reopens /dev/stdout for its access log, and a plain "w" file would let its
            # error lines on stderr overwrite the access lines.
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.log = log
        self.started.append(process)
        wait_for(lambda: process.poll() is not None or ready(), f"{name} to be ready", timeout=timeout, interval=0.2)
        assert process.poll() is None, f"{name} exited:\n{log.read_text()}"
        return process

    @staticmethod
    def kill(process, sig=signal.SIGKILL):
        os.killpg(process.pid, sig)
        process.wait(30)

    def stop_all(self):
        for process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)


@pytest.fixture
def processes(tmp_path):
    started = Processes(tmp_path)
    yield started
    started.stop_all()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """KPU_DATA_DIR of the subprocesses: collectstatic once, for gunicorn's manifest and nginx's /static/."""
    data = tmp_path_factory.mktemp("data")
    collectstatic(data)
    return data


@pytest.fixture
def site(settings, tmp_path, data_dir):
    """What the test process and its subprocesses share: the snapshot, the scan stores, the secret key."""
    settings.SNAPSHOT_ROOT = tmp_path / "snapshot"
    settings.SNAPSHOT_KEY_FILE = tmp_path / "snapshot.pem"
    return {
        "KPU_DATA_DIR": str(data_dir),
        "KPU_SNAPSHOT_ROOT": str(settings.SNAPSHOT_ROOT),
        "KPU_SNAPSHOT_KEY_FILE": str(settings.SNAPSHOT_KEY_FILE),
        "KPU_MEDIA_ROOT": str(tmp_path / "media"),
        "KPU_PRIVATE_ROOT": str(tmp_path / "private"),
        "KPU_PRIVATE_ACCEL_REDIRECT_PREFIX": "/_private/",
        # The test process makes the officers' sessions: both sides sign with the same key.
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "KPU_LOG_LEVEL": "WARNING",
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "TMPDIR": str(tmp_path),
    }


def shared_database_url():
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def start_gunicorn(processes, env, port=None):
    port = port or free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "kpuportal.wsgi"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"]
    url = f"http://127.0.0.1:{port}"
    process = processes.start("gunicorn", command, env, ready=lambda: answers(f"{url}/health/live"))
    process.port, process.url = port, url
    return process


def nginx_conf(values):
    """deploy/nginx.conf with its ${KPU_...} names filled in, as envsubst does in production."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    assert set(TEMPLATE_NAME.findall(text)) == set(values), "deploy/nginx.conf names other variables"
    return TEMPLATE_NAME.sub(lambda match: values[match[1]], text)


def start_nginx(processes, directory, site, upstream_port):
    """nginx as a non-daemon subprocess, with its pid, temp files and cache in `directory`."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        pytest.fail("nginx is not installed: run deploy/install.sh")
    port = free_port()
    state = directory / "nginx"
    state.mkdir()
    conf = directory / "nginx.conf"
    conf.write_text(
        nginx_conf(
            {
                "KPU_NGINX_LISTEN": f"127.0.0.1:{port}",
                "KPU_NGINX_UPSTREAM": f"127.0.0.1:{upstream_port}",
                # Our temp dirs are private to this user: the workers must run as it to read them.
                "KPU_NGINX_USER": getpass.getuser(),
                "KPU_NGINX_DIR": str(state),
                **{name: site[name] for name in ("KPU_DATA_DIR", "KPU_MEDIA_ROOT", "KPU_PRIVATE_ROOT")},
                "KPU_SNAPSHOT_ROOT": site["KPU_SNAPSHOT_ROOT"],
            }
        )
    )
    command = [binary, "-p", str(state), "-c", str(conf), "-e", "stderr"]
    checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    processes.start(
        "nginx", [*command, "-g", "daemon off;"], {"PATH": os.environ["PATH"]}, ready=lambda: listening(port)
    )
    return f"http://127.0.0.1:{port}"


def publish(contest, station, votes, officers):
    form = Tally.objects.create(contest=contest, station=station)
    for officer in officers[:2]:
        tally_enter(tally=form, numbers=c1(votes), entered_by=officer)


def superusers():
    """Two who may publish any TPS (the officers' region is Pontianak)."""
    return [UserFactory(is_superuser=True), UserFactory(is_superuser=True)]


@pytest.fixture
def counted(kalbar, governor, officers):
    publish(governor, kalbar["tps_bansir_laut_1"], [40, 70, 80], officers)
    return governor


def snapshot_pages():
    """Every public URL the current snapshot holds, with its file: /a/b/ for a/b/index.html."""
    site = current_dir()
    pages = {}
    for name in snapshot_files():
        if name.split("/", 1)[0] in ("static", "media", "snapshot") or name == "404.html":
            continue  # not pages: what they serve, and the web server's answer for an address it lacks
        url = "/" + (name.removesuffix("index.html") if name.endswith("index.html") else name)
        pages[url] = snapshot_file(site, name)  # the layer's own, or its base's
    return pages


def assert_from_snapshot(response, file, generation):
    """`generation`: what X-Snapshot says, the generation's name from Django, "current" from nginx."""
    assert response.status_code == 200, (response.url, response.status_code)
    assert response.headers.get("X-Snapshot") == generation, response.url
    assert response.headers["Content-Type"] == CONTENT_TYPES[file.suffix], response.url
    assert response.content == file.read_bytes(), response.url
    if file.suffix == ".html" and "/widget/" not in response.url:
        assert BANNER in response.text, response.url


def test_with_gunicorn_dead_every_public_page_comes_from_the_snapshot_through_nginx(
    settings,
    counted,
    kalbar,
    officers,
    site,
    processes,
    tmp_path,
):
    snapshot_build()
    publish(counted, kalbar["tps_pasiran_1"], [5, 6, 7], superusers())
    settings.SNAPSHOT_COMPACT_PERCENT = 100  # this site is small: a layer of 31 files is a tenth of it
    assert snapshot_build().base == 1  # the current snapshot is a layer: nginx finds most files in its base
    pages = snapshot_pages()
    assert len(pages) > 40 and "/" in pages and "/en/" in pages
    assert any("/_base/" in str(file) for file in pages.values()) and not all(
        "/_base/" in str(file) for file in pages.values()
    )
    env = {**site, "DATABASE_URL": shared_database_url(), "CELERY_TASK_ALWAYS_EAGER": "1"}
    gunicorn = start_gunicorn(processes, env)
    front = start_nginx(processes, tmp_path, site, gunicorn.port)
    nginx_log = processes.started[-1].log

    # Live through the micro-cache: a miss, then hits; staff with a session always pass it by.
    live = get(f"{front}/?primed=1")
    assert live.status_code == 200 and live.headers["X-Cache"] == "MISS"
    assert "X-Snapshot" not in live.headers and BANNER not in live.text
    assert live.headers["Content-Encoding"] == "gzip"
    wait_for(lambda: get(f"{front}/?primed=1").headers["X-Cache"] == "HIT", "a micro-cache hit", timeout=10)
    assert get(f"{front}/?primed=1", cookies={"sessionid": "x"}).headers["X-Cache"] == "BYPASS"
    css = get(f"{front}/static/results/site.css")
    assert css.status_code == 200 and css.headers["Content-Type"] == "text/css"
    assert "max-age=" in css.headers["Cache-Control"]

    # A reading published after the snapshot: the snapshot does not have it yet.
    publish(counted, kalbar["tps_bansir_laut_2"], [10, 20, 30], officers)
    station = f"/pilkada-2018/{counted.slug}/61.71.06.1001.002/"

    processes.kill(gunicorn)
    for url, file in pages.items():
        assert_from_snapshot(get(front + url), file, "current")  # nginx names no generation
    # An address the snapshot lacks: its own "not found" page, with the banner, as a 404.
    missing = get(f"{front}/pilkada-2018/{counted.slug}/61.99/")
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("text/html")
    assert BANNER in missing.text and "Halaman tidak ditemukan" in missing.text
    assert missing.content == snapshot_file(current_dir(), "404.html").read_bytes()  # from the base
    # What the micro-cache held is served, once its second is over, stale rather than from the snapshot.
    wait_for(lambda: get(f"{front}/?primed=1").headers["X-Cache"] == "STALE", "the cached page to go stale", timeout=10)
    stale = get(f"{front}/?primed=1")
    assert stale.status_code == 200 and stale.text == live.text and "X-Snapshot" not in stale.headers
    assert 'class="shares"' not in get(front + station).text
    # Officers are told plainly; the admin is not in the snapshot.
    admin = get(f"{front}/admin/")
    assert admin.status_code == 503 and "unavailable for a moment" in admin.text
    assert get(f"{front}/health/live").status_code == 502
    # Each failed proxy attempt is in the access log, not one error line per reader in the error log.
    log = nginx_log.read_text().splitlines()
    assert any("GET /en/ " in line and "upstream=502" in line for line in log)
    public_errors = [line for line in log if "[error]" in line and "/admin/" not in line and "/health/" not in line]
    assert public_errors == []

    gunicorn = start_gunicorn(processes, env, port=gunicorn.port)
    wait_for(lambda: "X-Snapshot" not in get(front + station).headers, "nginx to use gunicorn again", timeout=20)
    page = get(front + station)
    assert page.status_code == 200 and BANNER not in page.text
    assert [votes for votes, _share in numbers_in(page.text)] == [10, 20, 30]
    assert "X-Snapshot" not in get(front + "/en/").headers

    # A clean stop (a deploy): gunicorn leaves word on its way out, and nginx answers from the
    # snapshot without trying the proxy at all, until gunicorn is ready again.
    flag = settings.SNAPSHOT_ROOT / "gunicorn-stopped"
    assert not flag.exists()
    processes.kill(gunicorn, signal.SIGTERM)
    assert flag.exists()
    assert_from_snapshot(get(front + "/?stopped=1"), pages["/"], "current")
    # nginx logs a request once its answer is sent: the line may come a moment after the page.
    access = wait_for(
        lambda: [line for line in nginx_log.read_text().splitlines() if "GET /?stopped=1 " in line],
        "nginx to log the request",
        timeout=10,
    )
    assert len(access) == 1 and "upstream=-" in access[0], access
    start_gunicorn(processes, env, port=gunicorn.port)
    assert not flag.exists()
    assert "X-Snapshot" not in get(front + "/?started=1").headers


def test_a_snapshot_root_gunicorn_cannot_write_to_neither_stops_it_serving_nor_stopping(site, processes, tmp_path):
    """The stopped-file is a convenience for nginx: failing to write or remove it is logged, nothing more."""
    not_a_folder = tmp_path / "snapshot-root-is-a-file"
    not_a_folder.write_text("")
    env = {**site, "KPU_SNAPSHOT_ROOT": str(not_a_folder), "DATABASE_URL": shared_database_url()}
    gunicorn = start_gunicorn(processes, env)
    assert get(f"{gunicorn.url}/health/live").status_code == 200
    os.killpg(gunicorn.pid, signal.SIGTERM)
    assert gunicorn.wait(30) == 0
    log = gunicorn.log.read_text()
    assert "could not remove" in log and "could not write" in log, log


class Cluster:
    """A PostgreSQL cluster of the test's own on a free port: the one test that may stop a database."""

    def __init__(self):
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not binaries:
            pytest.fail("PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin)")
        self.bin = Path(binaries[-1]).parent
        self.port = free_port()
        # initdb refuses root: as root the cluster belongs to the postgres user, in a directory it can reach.
        as_root = os.geteuid() == 0
        self.directory = Path(tempfile.mkdtemp(prefix="kpu-pg-", dir="/tmp" if as_root else None))
        self.as_user = ["runuser", "-u", "postgres", "--"] if as_root else []
        if as_root:
            shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/kpuportal"

    def run(self, *command, **options):
        return subprocess.run([*self.as_user, *command], check=True, capture_output=True, text=True, **options)

    def start(self):
        if not self.data.exists():
            self.run(self.bin / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            self.bin / "pg_ctl", "-D", self.data, "-l", self.directory / "log", "-w", "-t", "60", "-o", options, "start"
        )

    def stop(self, mode="fast"):
        self.run(self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def running(self):
        return subprocess.run([self.bin / "pg_ctl", "-D", self.data, "status"], capture_output=True).returncode == 0

    def remove(self):
        if self.data.exists() and self.running():
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def cluster():
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def test_with_postgresql_down_public_pages_come_from_the_snapshot_and_the_admin_says_so(
    settings,
    counted,
    kalbar,
    officers,
    site,
    processes,
    tmp_path,
    cluster,
):
    # An officer's session, then a copy of the migrated, seeded test database into the cluster we may stop.
    browser = Client()
    browser.force_login(officers[0])
    session = {"sessionid": browser.cookies["sessionid"].value}
    db = connection.settings_dict
    cluster.run(cluster.bin / "createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "kpuportal")
    dump = subprocess.run(
        ["pg_dump", "-h", db["HOST"], "-p", str(db["PORT"]), "-U", db["USER"], "--no-owner", "--no-acl", db["NAME"]],
        check=True,
        capture_output=True,
    )
    restore = ["psql", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1"]
    subprocess.run([*restore, "kpuportal"], input=dump.stdout, check=True, capture_output=True)
    snapshot_build()
    publish(counted, kalbar["tps_pasiran_1"], [5, 6, 7], superusers())
    settings.SNAPSHOT_COMPACT_PERCENT = 100
    assert snapshot_build().base == 1  # a layer: Django's fallback finds most files in its base
    generation = current_dir().name
    pages = snapshot_pages()

    env = {**site, "DATABASE_URL": cluster.url, "DATABASE_CONNECT_TIMEOUT": "1", "CELERY_TASK_ALWAYS_EAGER": "1"}
    gunicorn = start_gunicorn(processes, env)
    front = start_nginx(processes, tmp_path, site, gunicorn.port)
    assert get(f"{gunicorn.url}/health/ready").status_code == 200
    assert get(f"{front}/admin/", cookies=session).status_code == 200
    live = get(f"{front}/")
    assert live.status_code == 200 and "X-Snapshot" not in live.headers

    cluster.stop()
    for url, file in pages.items():
        for response in (get(gunicorn.url + url), get(front + url + "?through=nginx")):  # Django's fallback
            if url in NO_DATABASE:
                assert response.status_code == 200 and "X-Snapshot" not in response.headers, url
            else:
                assert_from_snapshot(response, file, generation)
    english = {"Accept-Language": "en"}
    for base in (gunicorn.url, front):
        admin = get(f"{base}/admin/", cookies=session, headers=english)
        assert admin.status_code == 503
        assert "the admin is unavailable" in admin.text
        ready = get(f"{base}/health/ready")
        assert ready.status_code == 503 and ready.json()["status"] == "down"
        assert get(f"{base}/health/live").status_code == 200


def test_with_redis_down_pages_render_and_an_upload_is_processed_once_it_returns(
    counted,
    kalbar,
    officers,
    site,
    processes,
    tmp_path,
):
    redis = Broker(f"redis://127.0.0.1:{free_port()}/0", str(tmp_path))
    redis.start()
    try:
        _redis_down_and_back(redis, counted, kalbar, officers, site, processes, tmp_path)
    finally:
        if redis.process.poll() is None:
            redis.stop()


def _redis_down_and_back(redis, counted, kalbar, officers, site, processes, tmp_path):
    snapshot_build()
    pages = snapshot_pages()
    redis_url = f"redis://127.0.0.1:{redis.port}/0"
    env = {**site, "DATABASE_URL": shared_database_url(), "REDIS_URL": redis_url, "CELERY_TASK_ALWAYS_EAGER": "0"}
    gunicorn = start_gunicorn(processes, env)
    front = start_nginx(processes, tmp_path, site, gunicorn.port)
    assert get(f"{front}/").status_code == 200
    session, token = logged_in_session(officers[0], front)

    redis.stop()
    # Rendered from the database: no snapshot, no banner.
    for url in [url for url in pages if url.endswith("/")]:
        for base in (gunicorn.url, front):
            page = get(base + url)
            assert page.status_code == 200, url
            assert "X-Snapshot" not in page.headers and BANNER not in page.text, url
    ready = get(f"{front}/health/ready").json()
    assert ready["status"] == "degraded" and ready["checks"]["cache"].startswith("unreachable")

    scan = images.jpeg()
    upload = f"{front}/admin/uploads/scan/upload/"
    fields = {"contest": counted.pk, "station": kalbar["tps_bansir_laut_2"].pk, "first_page": 1}
    started = time.monotonic()
    response = session.post(
        upload,
        data={**fields, "csrfmiddlewaretoken": token},
        files={"files": ("c1.jpg", scan, "image/jpeg")},
        headers={"Referer": upload},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:2000]
    assert time.monotonic() - started < 10
    batch = UploadBatch.objects.get()
    assert batch.status == UploadBatch.Status.RECEIVED

    redis.start()
    # A worker with beat inside it: the sweeper (every second here) queues what the outage left behind.
    worker_env = {
        **env,
        "KPU_SWEEP_EVERY_SECONDS": "1",
        "KPU_SCAN_STALE_AFTER_SECONDS": "0",
        **{name: "3600" for name in ("KPU_HEADS_EVERY_SECONDS", "KPU_SNAPSHOT_EVERY_SECONDS")},
        "KPU_INTEGRITY_EVERY_SECONDS": "3600",
    }
    command = [sys.executable, "-m", "celery", "-A", "kpuportal", "worker", "--beat"]
    command += ["--schedule", str(tmp_path / "beat-schedule"), "--pool", "prefork", "--concurrency", "1"]
    command += ["--without-mingle", "--without-gossip", "--loglevel", "INFO", "--hostname", "never-dark@kpu-tests"]
    worker = processes.start("worker", command, worker_env, ready=lambda: True)

    def ready():
        assert worker.poll() is None, worker.log.read_text()
        return list(Scan.objects.values_list("status", flat=True)) == [Scan.Status.READY]

    wait_for(ready, "the upload to be unpacked and its scan ingested", timeout=120)
    ingested = Scan.objects.get()
    rendition = get(f"{front}/media/{ingested.web.name}")
    assert rendition.status_code == 200 and rendition.headers["Content-Type"] == "image/jpeg"
    assert "immutable" in rendition.headers["Cache-Control"]
    original = session.get(f"{front}/admin/uploads/scan/{ingested.pk}/original/", timeout=15)
    assert original.status_code == 200
    assert original.content == scan
    assert "X-Accel-Redirect" not in original.headers
    assert original.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert "no-store" in original.headers["Cache-Control"].split(", ")
    assert original.headers["X-Content-Type-Options"] == "nosniff"
    assert original.headers["Content-Disposition"] == 'inline; filename="c1.jpg"'
    assert get(f"{front}/_private/{ingested.raw.name}").status_code == 404
