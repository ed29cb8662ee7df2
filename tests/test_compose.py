"""docker-compose.yml in step with what the tests run: settings, deploy/gunicorn.conf.py, deploy/nginx.conf.

No Docker engine is needed: the file is read as data and compared with what it names.
"""

import re
from pathlib import Path, PurePosixPath

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PORTAL = ("web", "worker", "beat")
NGINX_CONF = (ROOT / "deploy" / "nginx.conf").read_text()


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def read_variables(path, pattern):
    return set(re.findall(pattern, (ROOT / path).read_text()))


def settings_variables():
    return read_variables("kpuportal/settings.py", r"env_\w+\(\s*\"([A-Z0-9_]+)\"")


def mounts(service):
    """{target: source} of a service's volumes, ":ro" and the like dropped."""
    return {entry.split(":")[1]: entry.split(":")[0] for entry in service.get("volumes", [])}


def command_line(service):
    command = service["command"]
    return " ".join(command) if isinstance(command, list) else command


def test_it_runs_every_part_of_the_never_dark_set(services):
    assert set(services) == {
        "postgres",
        "redis",
        "minio",
        "buckets",
        "web",
        "worker",
        "beat",
        "nginx",
    }


def test_the_portal_services_set_only_variables_the_portal_reads(services):
    known = settings_variables()
    gunicorn = read_variables("deploy/gunicorn.conf.py", r"os\.environ\.get\(\"([A-Z0-9_]+)\"")
    assert {"DATABASE_URL", "REDIS_URL", "KPU_SNAPSHOT_ROOT"} <= known  # the pattern still finds them
    for name in PORTAL:
        unknown = set(services[name]["environment"]) - known - (gunicorn if name == "web" else set())
        assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"
        assert services[name]["build"] == "."
        assert services[name]["environment"]["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")


def test_web_is_gunicorn_with_the_deploy_config_checked_on_readiness(services):
    web = services["web"]
    assert "gunicorn -c deploy/gunicorn.conf.py kpuportal.wsgi" in command_line(web)
    assert "migrate" in command_line(web) and "collectstatic" in command_line(web)
    assert "/health/ready" in " ".join(web["healthcheck"]["test"])
    assert "celery -A kpuportal worker" in command_line(services["worker"])
    assert "celery -A kpuportal beat" in command_line(services["beat"])


def test_every_long_running_service_has_a_health_check(services):
    for name in ("postgres", "redis", "minio", "web", "nginx"):
        assert services[name]["healthcheck"]["test"], name
    assert "/health/live" in " ".join(services["nginx"]["healthcheck"]["test"])


def test_nginx_runs_the_deploy_config_with_every_name_it_uses(services):
    nginx = services["nginx"]
    assert mounts(nginx)["/etc/nginx/templates/nginx.conf.template"] == "./deploy/nginx.conf"
    env = nginx["environment"]
    assert env["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"  # the template becomes nginx.conf itself
    assert set(re.findall(r"\$\{(KPU_[A-Z_]+)\}", NGINX_CONF)) == set(env) - {"NGINX_ENVSUBST_OUTPUT_DIR"}
    host, port = env["KPU_NGINX_UPSTREAM"].split(":")
    assert host == "web" and services["web"]["environment"]["GUNICORN_BIND"] == f"0.0.0.0:{port}"


def test_nginx_reads_the_snapshot_and_static_files_the_portal_writes(services):
    nginx, web = services["nginx"], services["web"]
    snapshot = nginx["environment"]["KPU_SNAPSHOT_ROOT"]
    for name in (*PORTAL, "nginx"):
        service = services[name]
        if name != "nginx":
            assert service["environment"]["KPU_SNAPSHOT_ROOT"] == snapshot
        assert mounts(service)[snapshot] == "snapshot", name
    # The portal's STATIC_ROOT is $KPU_DATA_DIR/static, /app/var/static in the image; nginx serves that volume.
    static = str(PurePosixPath(nginx["environment"]["KPU_DATA_DIR"]) / "static")
    assert mounts(nginx)[static] == mounts(web)["/app/var/static"] == "static"
    # The signing key is never among the files nginx or the bucket copy serve.
    key = PurePosixPath(web["environment"]["KPU_SNAPSHOT_KEY_FILE"])
    assert not key.is_relative_to(snapshot)


def test_the_worker_publishes_the_snapshot_to_a_public_bucket(services):
    env = services["worker"]["environment"]
    setup = command_line(services["buckets"])
    snapshot = env["KPU_SNAPSHOT_BUCKET"]
    assert snapshot not in (env["AWS_STORAGE_BUCKET_NAME"], env["AWS_PRIVATE_BUCKET_NAME"])
    assert f"kpu/{snapshot}" in setup and f"anonymous set download kpu/{snapshot}" in setup
    assert env["AWS_S3_ENDPOINT_URL"] == "http://minio:9000"


def test_scans_go_to_buckets_and_only_the_renditions_are_public(services):
    env = services["web"]["environment"]
    setup = command_line(services["buckets"])
    public, private = env["AWS_STORAGE_BUCKET_NAME"], env["AWS_PRIVATE_BUCKET_NAME"]
    assert public != private
    assert f"kpu/{public}" in setup and f"kpu/{private}" in setup
    assert f"anonymous set download kpu/{public}" in setup
    assert f"anonymous set download kpu/{private}" not in setup
    # Originals in a bucket are signed URLs: an X-Accel-Redirect prefix would send nginx to a missing file.
    assert "KPU_PRIVATE_ACCEL_REDIRECT_PREFIX" not in env
    assert "location /_private/ {\n            internal;" in NGINX_CONF


def values(node):
    if isinstance(node, dict):
        return [value for child in node.values() for value in values(child)]
    if isinstance(node, list):
        return [value for child in node for value in values(child)]
    return [str(node)]


def test_every_variable_it_takes_is_in_the_readme(compose):
    # Compose interpolates ${NAME} in values; $$ escapes a dollar for the container's shell.
    taken = {name for value in values(compose) for name in re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", value)}
    readme = (ROOT / "README.md").read_text().split("### docker-compose", 1)[1].split("\n## ", 1)[0]
    assert taken and all(f"`{name}`" in readme for name in taken), sorted(taken)
