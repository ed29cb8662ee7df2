"""Scans on an S3-compatible bucket: a real S3-protocol server (moto's) on loopback."""

import time

import boto3
import pytest
import requests

from results.models import Tally
from tests.servers import free_port, moto_server
from tests.uploads import images
from tests.uploads.conftest import stored
from uploads.models import Scan
from uploads.services import scan_store

BUCKET = "kpu-scans"
PRIVATE_BUCKET = "kpu-originals"


@pytest.fixture(scope="module")
def s3_endpoint():
    yield from moto_server()


@pytest.fixture
def bucket(settings, s3_endpoint):
    """The public bucket for renditions and a private one for the originals, as in production."""
    credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
    client = boto3.client("s3", endpoint_url=s3_endpoint, **credentials)
    options = {
        "endpoint_url": s3_endpoint,
        "access_key": "test",
        "secret_key": "test",
        "region_name": "us-east-1",
        "file_overwrite": False,
    }
    for name in (BUCKET, PRIVATE_BUCKET):
        client.create_bucket(Bucket=name)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**options, "bucket_name": BUCKET, "querystring_auth": False},
        },
        "private": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**options, "bucket_name": PRIVATE_BUCKET, "default_acl": "private", "querystring_auth": True},
        },
    }
    yield client
    for name in (BUCKET, PRIVATE_BUCKET):
        for item in client.list_objects_v2(Bucket=name).get("Contents", []):
            client.delete_object(Bucket=name, Key=item["Key"])
        client.delete_bucket(Bucket=name)


def keys(client, name):
    return {item["Key"] for item in client.list_objects_v2(Bucket=name).get("Contents", [])}


def test_raw_file_and_renditions_land_in_the_bucket(
    kalbar, contest, officer, bucket, django_capture_on_commit_callbacks
):
    tally = Tally.objects.create(contest=contest, station=kalbar["tps_bansir_laut_1"])
    data = images.photo_with_gps_rotated()
    with django_capture_on_commit_callbacks(execute=True):
        scan, created = scan_store(raw=stored(data), original_name="c1.jpg", tally=tally, page=1, uploaded_by=officer)
    scan.refresh_from_db()
    assert scan.status == Scan.Status.READY
    assert keys(bucket, BUCKET) == {scan.web.name, scan.thumbnail.name, scan.full.name}
    assert keys(bucket, PRIVATE_BUCKET) == {scan.raw.name}
    assert bucket.get_object(Bucket=PRIVATE_BUCKET, Key=scan.raw.name)["Body"].read() == data
    assert scan.thumbnail.url.startswith(f"{bucket.meta.endpoint_url}/{BUCKET}/scans/thumbnail/")


def test_staff_get_the_original_through_a_short_lived_signed_url(
    kalbar, contest, officer, bucket, client, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    tally = Tally.objects.create(contest=contest, station=kalbar["tps_bansir_laut_1"])
    data = images.photo_with_gps_rotated()
    with django_capture_on_commit_callbacks(execute=True):
        scan, _created = scan_store(
            raw=stored(data), original_name="hal 1.jpg", tally=tally, page=1, uploaded_by=officer
        )
    client.force_login(officer)
    response = client.get(reverse("admin:uploads_scan_original", args=[scan.pk]))
    assert response.status_code == 302
    assert response.url.startswith(f"{bucket.meta.endpoint_url}/{PRIVATE_BUCKET}/{scan.raw.name}?")
    assert "Signature=" in response.url and "Expires=" in response.url
    fetched = requests.get(response.url, timeout=10)
    assert fetched.status_code == 200 and fetched.content == data
    assert fetched.headers["Content-Type"] == "image/jpeg"
    assert (
        "hal%201.jpg" in fetched.headers["Content-Disposition"] or "hal 1.jpg" in fetched.headers["Content-Disposition"]
    )


def test_a_raw_object_already_in_the_bucket_is_not_overwritten(
    kalbar, contest, officer, bucket, django_capture_on_commit_callbacks
):
    tally = Tally.objects.create(contest=contest, station=kalbar["tps_bansir_laut_1"])
    data = images.jpeg()
    with django_capture_on_commit_callbacks(execute=True):
        scan, _created = scan_store(raw=stored(data), original_name="c1.jpg", tally=tally, page=1, uploaded_by=officer)
    first = bucket.head_object(Bucket=PRIVATE_BUCKET, Key=scan.raw.name)["LastModified"]
    time.sleep(1.1)
    Scan.objects.all().delete()  # as if the row were lost while the object stayed
    with django_capture_on_commit_callbacks(execute=True):
        again, created = scan_store(raw=stored(data), original_name="c1.jpg", tally=tally, page=1, uploaded_by=officer)
    assert created and again.raw.name == scan.raw.name
    assert bucket.head_object(Bucket=PRIVATE_BUCKET, Key=scan.raw.name)["LastModified"] == first


def test_a_storage_outage_is_retried_not_a_rejection(
    kalbar, contest, officer, bucket, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from botocore.exceptions import EndpointConnectionError

    from uploads.services import scans_sweep
    from uploads.tasks import ingest_scan

    tally = Tally.objects.create(contest=contest, station=kalbar["tps_bansir_laut_1"])
    with django_capture_on_commit_callbacks(execute=False):
        scan, _created = scan_store(
            raw=stored(images.jpeg()), original_name="c1.jpg", tally=tally, page=1, uploaded_by=officer
        )
    working = settings.STORAGES
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    settings.STORAGES = {
        **working,
        "default": {
            **working["default"],
            "OPTIONS": {**working["default"]["OPTIONS"], "endpoint_url": f"http://127.0.0.1:{free_port()}"},
        },
    }
    assert issubclass(EndpointConnectionError, ingest_scan.autoretry_for)
    # The last allowed try: the error comes back instead of another retry being scheduled.
    result = ingest_scan.apply(args=[scan.pk], retries=ingest_scan.max_retries, throw=False)
    assert isinstance(result.result, EndpointConnectionError)
    scan.refresh_from_db()
    assert scan.status == Scan.Status.PROCESSING and scan.rejection_reason is None

    settings.STORAGES = working  # the bucket is back
    from datetime import timedelta

    assert scans_sweep(older_than=timedelta(0)) == 1
    scan.refresh_from_db()
    assert scan.status == Scan.Status.READY
