"""Publishing the snapshot to a bucket: only what changed, the signed manifest last, checkable by anyone.

A real S3-protocol server (moto's) on loopback, as in tests/uploads/test_s3_storage.py; its request
recorder tells which objects were written and in what order.
"""

import importlib.util
import json
from pathlib import Path

import boto3
import pytest
import requests
from django.core.files.storage import storages
from django.core.management import CommandError, call_command

from snapshot.services import (
    MANIFEST,
    PUBLIC_KEY,
    SIGNATURE,
    current_dir,
    current_manifest,
    snapshot_build,
    snapshot_compact,
    snapshot_file,
    snapshot_files,
)
from snapshot.services import snapshot_publish as publish_snapshot
from tests.factories import RegionFactory
from tests.servers import moto_server
from tests.snapshot.conftest import publish

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "kpu-snapshot"
SIGNED = {PUBLIC_KEY, SIGNATURE, MANIFEST}
FIRST_BASE = "snapshot/manifests/00000001.json"  # the first snapshot's full manifest, pinned by the layers over it
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_S3_REGION_NAME": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    yield from moto_server(MOTO_RECORDER_FILEPATH=str(tmp_path_factory.mktemp("moto") / "recording"))


def configured_storage(monkeypatch, endpoint):
    """STORAGES["snapshot"] exactly as kpuportal/settings.py makes it from the environment."""
    for name, value in {**CREDENTIALS, "KPU_SNAPSHOT_BUCKET": BUCKET, "AWS_S3_ENDPOINT_URL": endpoint}.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("settings_with_a_snapshot_bucket", ROOT / "kpuportal/settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.STORAGES["snapshot"]


@pytest.fixture
def bucket(settings, monkeypatch, s3_endpoint):
    client = boto3.client(
        "s3", endpoint_url=s3_endpoint, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {**settings.STORAGES, "snapshot": configured_storage(monkeypatch, s3_endpoint)}
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


class Writes:
    """The keys written to the bucket (PUT, whole or in parts), in the order the server received them."""

    def __init__(self, endpoint):
        self.endpoint = endpoint

    def __enter__(self):
        requests.post(f"{self.endpoint}/moto-api/recorder/reset-recording", timeout=5)
        requests.post(f"{self.endpoint}/moto-api/recorder/start-recording", timeout=5)
        return self

    def __exit__(self, *exc):
        requests.post(f"{self.endpoint}/moto-api/recorder/stop-recording", timeout=5)
        recording = requests.get(f"{self.endpoint}/moto-api/recorder/download-recording", timeout=5).text
        prefix = f"{self.endpoint}/{BUCKET}/"
        self.keys = []
        for entry in entries(recording):
            key = entry["url"].split("?", 1)[0].removeprefix(prefix)
            if entry["method"] == "PUT" and key and key not in self.keys:
                self.keys.append(key)


def entries(recording):
    """The recorder's JSON entries. It writes an entry and its newline apart, so with requests
    arriving together a newline may come after the next entry: read them one after another."""
    decoder, position = json.JSONDecoder(), 0
    while position < len(recording):
        if recording[position].isspace():
            position += 1
            continue
        entry, position = decoder.raw_decode(recording, position)
        yield entry


def bucket_keys(client):
    return {
        item["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for item in page.get("Contents", [])
    }


def test_publishing_puts_every_file_in_the_bucket_with_its_type_and_the_copy_verifies(counted, bucket, s3_endpoint):
    snapshot_build()
    site, files = current_dir(), snapshot_files()
    published = publish_snapshot()
    assert bucket_keys(bucket) == set(files) | SIGNED | {FIRST_BASE}
    assert (published.uploaded, published.unchanged, published.deleted) == (len(files) + 4, 0, 0)
    for name in sorted(bucket_keys(bucket)):
        assert bucket.get_object(Bucket=BUCKET, Key=name)["Body"].read() == (site / name).read_bytes(), name
    # A layer over that snapshot: the bucket holds its files at their names, as a static host serves them.
    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    snapshot_build()
    site = current_dir()
    assert not (site / f"pilkada-2018/{counted.slug}/61.72/index.html").exists()  # left to the base
    publish_snapshot()
    for name in sorted(bucket_keys(bucket)):
        expected = snapshot_file(site, name).read_bytes()
        assert bucket.get_object(Bucket=BUCKET, Key=name)["Body"].read() == expected, name
    contest = f"pilkada-2018/{counted.slug}"
    expected = {
        f"{contest}/61.71/index.html": ("text/html; charset=utf-8", "public, max-age=60"),
        f"api/v1/{contest}.json": ("application/json", "public, max-age=60"),
        f"api/v1/{contest}/61.71.csv": ("text/csv; charset=utf-8", "public, max-age=60"),
        "static/results/site.css": ("text/css; charset=utf-8", "public, max-age=31536000, immutable"),
        PUBLIC_KEY: ("text/plain; charset=utf-8", "public, max-age=60"),
        SIGNATURE: ("text/plain; charset=utf-8", "public, max-age=60"),
        MANIFEST: ("application/json", "public, max-age=60"),
    }
    for name, (content_type, cache_control) in expected.items():
        head = bucket.head_object(Bucket=BUCKET, Key=name)
        assert (head["ContentType"], head["CacheControl"]) == (content_type, cache_control), name
    # Scan renditions (none in this snapshot) get the type and the long cache of a name that never changes.
    rendition = storages["snapshot"].get_object_parameters("media/scans/web/ab/" + "ab" * 32 + ".jpg")
    assert rendition["ContentType"] == "image/jpeg" and "max-age=31536000" in rendition["CacheControl"]
    acl = bucket.get_object_acl(Bucket=BUCKET, Key=f"{contest}/61.71/index.html")
    assert any(grant["Grantee"].get("URI", "").endswith("/AllUsers") for grant in acl["Grants"])
    call_command("snapshot_verify", f"{s3_endpoint}/{BUCKET}/")


def test_the_signed_manifest_goes_up_after_every_file_it_lists(counted, bucket, s3_endpoint):
    snapshot_build()
    with Writes(s3_endpoint) as writes:
        publish_snapshot()
    assert set(writes.keys) == set(snapshot_files()) | SIGNED | {FIRST_BASE}
    assert writes.keys[-4:] == [FIRST_BASE, PUBLIC_KEY, SIGNATURE, MANIFEST]
    assert bucket.get_object(Bucket=BUCKET, Key=MANIFEST)["Body"].read() == (current_dir() / MANIFEST).read_bytes()


def test_publishing_an_unchanged_snapshot_again_uploads_only_the_signed_manifest(counted, bucket, s3_endpoint):
    snapshot_build()
    publish_snapshot()
    snapshot_build()  # a new generation, the same pages
    with Writes(s3_endpoint) as writes:
        published = publish_snapshot()
    assert writes.keys == [PUBLIC_KEY, SIGNATURE, MANIFEST]
    assert (published.uploaded, published.unchanged, published.deleted) == (3, len(snapshot_files()), 0)
    call_command("snapshot_verify", f"{s3_endpoint}/{BUCKET}/")


def test_after_a_tps_is_published_only_the_pages_it_changed_go_up(counted, bucket, s3_endpoint):
    snapshot_build()
    publish_snapshot()
    before = snapshot_files()
    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    snapshot_build()
    after = snapshot_files()
    with Writes(s3_endpoint) as writes:
        published = publish_snapshot()
    changed = {name for name, entry in after.items() if before.get(name, {}).get("sha256") != entry["sha256"]}
    contest = f"pilkada-2018/{counted.slug}"
    assert f"{contest}/61.71.06.1001.002/index.html" in changed
    assert f"{contest}/61.72/index.html" not in changed  # Singkawang: nothing moved there
    assert set(writes.keys) == changed | SIGNED
    assert (published.uploaded, published.unchanged) == (len(changed) + 3, len(after) - len(changed))
    call_command("snapshot_verify", f"{s3_endpoint}/{BUCKET}/")


def test_a_page_gone_from_the_site_is_deleted_from_the_bucket(counted, bucket, s3_endpoint):
    village = RegionFactory(code="61.71.06.1003", name="Tambelan Sampit")
    snapshot_build()
    publish_snapshot()
    gone = {name for name in snapshot_files() if "61.71.06.1003" in name}
    assert f"pilkada-2018/{counted.slug}/61.71.06.1003/index.html" in gone
    assert gone <= bucket_keys(bucket)
    village.delete()
    snapshot_build()  # a new base: a layer cannot take the village's pages away
    published = publish_snapshot()
    assert published.deleted == len(gone) + 1  # and the old base's manifest
    assert bucket_keys(bucket) == set(snapshot_files()) | SIGNED | {"snapshot/manifests/00000002.json"}
    call_command("snapshot_verify", f"{s3_endpoint}/{BUCKET}/")


def test_a_new_base_goes_up_with_its_manifest_and_the_old_base_manifest_is_deleted(
    counted, bucket, s3_endpoint, settings
):
    settings.SNAPSHOT_COMPACT_PERCENT = 100
    snapshot_build()
    publish_snapshot()
    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    snapshot_build()
    publish_snapshot()
    before = snapshot_files()
    snapshot_compact()  # generation 2 written whole: the next build is a layer over it
    publish(counted, "61.72.01.1001.001", [4, 5, 6])
    assert snapshot_build().base == 2
    with Writes(s3_endpoint) as writes:
        published = publish_snapshot()
    new_base = "snapshot/manifests/00000002.json"
    changed = {name for name, entry in snapshot_files().items() if before[name]["sha256"] != entry["sha256"]}
    assert len(changed) == 31 and set(writes.keys) == changed | SIGNED | {new_base}
    assert writes.keys[-4:] == [new_base, PUBLIC_KEY, SIGNATURE, MANIFEST]
    assert published.deleted == 1 and bucket_keys(bucket) == set(snapshot_files()) | SIGNED | {new_base}
    call_command("snapshot_verify", f"{s3_endpoint}/{BUCKET}/")


def test_a_full_publish_repairs_a_bucket_altered_by_hand(counted, bucket, s3_endpoint):
    snapshot_build()
    publish_snapshot()
    page = f"pilkada-2018/{counted.slug}/61.71/index.html"
    bucket.put_object(Bucket=BUCKET, Key=page, Body=b"altered")
    bucket.put_object(Bucket=BUCKET, Key="stray.html", Body=b"not the portal's")
    with pytest.raises(CommandError, match="1 problems"):
        call_command("snapshot_verify", f"{s3_endpoint}/{BUCKET}/")
    published = publish_snapshot(full=True)
    assert published.deleted == 1 and "stray.html" not in bucket_keys(bucket)
    call_command("snapshot_verify", f"{s3_endpoint}/{BUCKET}/")


def test_the_snapshot_command_builds_and_publishes(counted, bucket, s3_endpoint, capsys):
    call_command("snapshot", "--publish")
    out = capsys.readouterr().out
    files = len(snapshot_files())
    assert f"{files + 4} files uploaded, 0 unchanged, 0 deleted" in out
    call_command("snapshot_verify", f"{s3_endpoint}/{BUCKET}/")


def test_publishing_without_a_bucket_is_refused_before_anything_is_built(counted, settings):
    assert "snapshot" not in settings.STORAGES  # the embedded defaults: the local directory is the store
    with pytest.raises(CommandError, match="KPU_SNAPSHOT_BUCKET"):
        call_command("snapshot", "--publish")
    assert current_dir() is None


def test_the_periodic_refresh_publishes_what_it_built(counted, bucket, s3_endpoint):
    from snapshot.tasks import refresh_snapshot

    generation = refresh_snapshot()
    published = json.loads(bucket.get_object(Bucket=BUCKET, Key=MANIFEST)["Body"].read())
    assert published["generation"] == generation == current_manifest()["generation"]
