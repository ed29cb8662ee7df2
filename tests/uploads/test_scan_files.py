"""Originals stay private and reach staff only through an authorised view; renditions are public."""

import logging
from io import BytesIO

import pytest
from django.urls import reverse
from PIL import Image

from tests.uploads import images
from uploads.models import Scan


@pytest.fixture
def scans(kalbar, receive, superuser):
    """A photo with a GPS position in Pontianak, an HTML "scan" in Pontianak, a scan in Singkawang."""
    receive(
        [
            ("61.71.06.1001.001-1.jpg", images.photo_with_gps_rotated()),
            ("61.71.06.1001.002-1.png", images.HTML),
            ("61.72.01.1001.001-1.jpg", images.jpeg(color=(90, 10, 10))),
        ],
        user=superuser,
    )
    return {scan.original_name: scan for scan in Scan.objects.select_related("tally__station")}


def original_url(scan):
    return reverse("admin:uploads_scan_original", args=[scan.pk])


def test_no_public_url_serves_the_original(scans, client, media_root, private_root):
    scan = scans["61.71.06.1001.001-1.jpg"]
    assert not (media_root / scan.raw.name).exists()
    assert (private_root / scan.raw.name).read_bytes() == images.photo_with_gps_rotated()
    assert client.get(f"/media/{scan.raw.name}").status_code == 404
    assert client.get("/media/../private/" + scan.raw.name).status_code == 404


def test_an_officer_of_the_region_opens_the_original_with_its_name_and_type(scans, client, officer):
    scan = scans["61.71.06.1001.001-1.jpg"]
    client.force_login(officer)
    response = client.get(original_url(scan))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == images.photo_with_gps_rotated()
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == 'inline; filename="61.71.06.1001.001-1.jpg"'
    assert {"private", "no-store"} <= set(response["Cache-Control"].replace(" ", "").split(","))
    assert response["Content-Security-Policy"].startswith("sandbox")


def test_an_original_that_is_not_an_image_is_only_ever_a_download(scans, client, officer):
    client.force_login(officer)
    response = client.get(original_url(scans["61.71.06.1001.002-1.png"]))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == images.HTML


def test_the_original_of_another_region_is_refused_and_logged(scans, client, officer, caplog):
    client.force_login(officer)
    with caplog.at_level(logging.WARNING, logger="kpuportal.security"):
        response = client.get(original_url(scans["61.72.01.1001.001-1.jpg"]))
    assert response.status_code == 403
    assert "This C1 scan is outside your region." in response.content.decode()
    assert "61.72.01.1001.001" in caplog.text


def test_the_original_needs_a_login(scans, client):
    response = client.get(original_url(scans["61.71.06.1001.001-1.jpg"]))
    assert response.status_code == 302 and response.url.startswith("/admin/login/")


def test_behind_nginx_the_original_is_handed_over_with_x_accel_redirect(scans, client, officer, settings):
    settings.PRIVATE_ACCEL_REDIRECT_PREFIX = "/_private/"
    scan = scans["61.71.06.1001.001-1.jpg"]
    client.force_login(officer)
    response = client.get(original_url(scan))
    assert response["X-Accel-Redirect"] == f"/_private/{scan.raw.name}"
    assert response.content == b""
    assert response["Content-Disposition"] == 'inline; filename="61.71.06.1001.001-1.jpg"'


def test_renditions_are_served_to_anyone_without_debug(scans, client, settings):
    settings.DEBUG = False
    scan = scans["61.71.06.1001.001-1.jpg"]
    for url in (scan.web.url, scan.thumbnail.url, scan.full.url):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"] == "public, max-age=31536000, immutable"
        assert b"GPS" not in b"".join(response.streaming_content)


def test_the_full_size_rendition_is_served_upright_and_without_the_position(scans, client, settings):
    settings.DEBUG = False
    scan = scans["61.71.06.1001.001-1.jpg"]
    assert scan.full.name.startswith("scans/full/")
    response = client.get(scan.full.url)
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    full = Image.open(BytesIO(data))
    assert full.size == (100, 200)  # stored sideways at 200 x 100, with EXIF orientation 6
    assert not full.getexif() and b"Exif" not in data and b"Officer phone" not in data


def test_the_scan_page_links_the_original_and_shows_the_rendition_once(scans, client, officer):
    scan = scans["61.71.06.1001.001-1.jpg"]
    client.force_login(officer)
    html = client.get(reverse("admin:uploads_scan_change", args=[scan.pk])).content.decode()
    assert original_url(scan) in html
    assert html.count("<label>Web rendition:</label>") == 1
    assert scan.web.url in html
    assert scan.full.url in html
