"""The public site in a real browser: Debian's Chromium, driven by Playwright, against the live server.

No browser is downloaded: Playwright launches the `chromium` that deploy/install.sh installs with
apt. Every page type is walked as a visitor would (without JavaScript, which the site does not
need), audited with axe at 360 px and at desktop width, and kept as a screenshot in the artifacts
directory (KPU_ARTIFACTS_DIR, else artifacts/screenshots) for a person to look at after the run.
"""

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from playwright.sync_api import sync_playwright

from results.demo_scans import ScanPlace, c1_scan_jpeg
from results.models import Tally
from results.services import tally_correct, tally_enter
from tests.results.conftest import c1
from uploads.services import scan_store
from uploads.storage import raw_put

pytestmark = pytest.mark.browser

ARTIFACTS = Path(os.environ.get("KPU_ARTIFACTS_DIR", Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"))
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
WIDTHS = {"360px": PHONE, "desktop": DESKTOP}
# What axe reports that keeps someone from using a page; "moderate" and "minor" are advice.
BLOCKING = {"serious", "critical"}
# The contest page on the wire, images aside: document, style sheet, any script or font.
PAGE_BUDGET_BYTES = 50 * 1024
TPS = "61.71.06.1001.001"


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, launched once for the module."""
    executable = shutil.which("chromium")
    assert executable, "no `chromium` on PATH: deploy/install.sh installs it with apt-get (never `playwright install`)"
    # While Playwright's sync API is open it marks its event loop as running between calls, and
    # Django then refuses ORM calls from this thread (the fixtures write the data). Nothing here is
    # async: the live server answers from its own thread.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            # Chromium's sandbox cannot start as root (CI runs as root).
            browser = playwright.chromium.launch(
                executable_path=executable, args=["--no-sandbox"] if os.geteuid() == 0 else []
            )
            yield browser
            browser.close()


@pytest.fixture
def browse(chromium, site):
    """A fresh browser context (no cache, no cookies) on the live server, closed after the test."""
    contexts = []

    def open_page(viewport, *, javascript=True):
        context = chromium.new_context(viewport=viewport, java_script_enabled=javascript, base_url=site["url"])
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Scans of this run go to its own stores: renditions in public media, originals in a private one."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "private", "base_url": None},
        },
    }


@pytest.fixture
def site(live_server, kalbar, governor, officers):
    """Two TPS of Bansir Laut published; TPS 001 has its scan and a correction, Pasiran awaits a second entry.

    Data made for the live server (transactional): tasks run eagerly, so the scan's web
    rendition is made as the scan is stored.
    """
    first, second, third = officers
    for station, votes in (("tps_bansir_laut_1", [40, 70, 80]), ("tps_bansir_laut_2", [10, 20, 30])):
        form = Tally.objects.create(contest=governor, station=kalbar[station])
        tally_enter(tally=form, numbers=c1(votes), entered_by=first)
        tally_enter(tally=form, numbers=c1(votes), entered_by=second)
    form = Tally.objects.get(contest=governor, station__code=TPS)
    place = ScanPlace(TPS, 1, "Bansir Laut", "Pontianak Tenggara", "Kota Pontianak")
    candidates = list(
        governor.candidates.order_by("ballot_number").values_list("ballot_number", "name", "running_mate")
    )
    scan = c1_scan_jpeg(contest_name=governor.name, place=place, candidates=candidates, numbers=c1([41, 70, 80]))
    stored, _created = scan_store(
        raw=raw_put(ContentFile(scan)), original_name="6171061001001-1.jpg", tally=form, page=1, uploaded_by=first
    )
    tally_correct(
        tally=form,
        numbers=c1([41, 70, 80]),
        entered_by=third,
        reason="Salah baca angka 41",
        scan_digests=[stored.sha256],
    )
    stored.refresh_from_db()
    assert stored.status == "ready", (stored.rejection_code, stored.rejection_params)
    waiting = Tally.objects.create(contest=governor, station=kalbar["tps_pasiran_1"])
    tally_enter(tally=waiting, numbers=c1([99, 99, 99]), entered_by=get_user_model().objects.create_superuser("su"))
    contest = f"/{governor.election.slug}/{governor.slug}/"
    return {"url": live_server.url, "contest": contest, "scan": stored}


def pages_of(site):
    """Every page type of the public site: (name for the screenshot, path)."""
    contest = site["contest"]
    return [
        ("home", "/"),
        ("contest", contest),
        ("regency", f"{contest}61.71/"),
        ("district", f"{contest}61.71.06/"),
        ("village", f"{contest}61.71.06.1001/"),
        ("tps", f"{contest}{TPS}/"),
        ("search", "/cari/?q=bansir"),
        ("digests", "/cek-digest/"),
        ("widget", f"{contest}widget/"),
        ("regency-en", f"/en{contest}61.71/"),
        ("not-found", "/tidak-ada/"),
    ]


def screenshot(page, name, width):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}-{width}.png", full_page=True)


def scan_image_loaded(page):
    """The scans section's image, once the browser has it decoded (it is lazy: scroll to it first)."""
    image = page.locator("section.scans img").first
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    return image


def blocking_violations(results):
    """axe's serious and critical findings, one readable paragraph each."""
    lines = []
    for violation in results.response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} {violation['helpUrl']}")
        for node in violation["nodes"]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:200]}")
            lines.extend(f"        {check['message']}" for check in node["any"] + node["all"] + node["none"])
    return lines


def test_a_visitor_walks_from_the_contest_down_to_a_tps_and_sees_its_scan_without_javascript(browse, site):
    page = browse(PHONE, javascript=False)
    page.goto(site["contest"])
    assert page.locator("h1").inner_text().startswith("Kalimantan Barat")
    screenshot(page, "walk-1-contest", "360px")
    for step, (link, heading) in enumerate(
        (
            ("Kota Pontianak", "Kota Pontianak"),
            ("Pontianak Tenggara", "Pontianak Tenggara"),
            ("Bansir Laut", "Bansir Laut"),
            ("001", "TPS 001"),
        ),
        start=2,
    ):
        page.locator("table.children").get_by_role("link", name=link, exact=True).click()
        assert page.locator("h1").inner_text().startswith(heading)
        screenshot(page, f"walk-{step}-{heading.lower().replace(' ', '-')}", "360px")
    assert page.url == f"{site['url']}{site['contest']}{TPS}/"
    assert scan_image_loaded(page).is_visible()
    assert "Salah baca angka 41" in page.locator("section[aria-labelledby=history-title]").inner_text()


def test_the_tps_scan_shows_as_its_web_rendition_never_the_raw_upload(browse, site):
    page = browse(PHONE)
    page.goto(f"{site['contest']}{TPS}/")
    image = scan_image_loaded(page)
    source = image.evaluate("img => img.currentSrc")
    scan = site["scan"]
    assert urlsplit(source).path == scan.web.url
    assert scan.web_sha256 in source and scan.sha256 not in source
    assert "/raw/" not in source and "original" not in source
    screenshot(page, "tps-scan", "360px")


def test_the_language_switch_opens_the_same_page_in_english_and_back(browse, site):
    page = browse(DESKTOP, javascript=False)
    regency = f"{site['contest']}61.71/"
    page.goto(regency)
    assert page.locator("html").get_attribute("lang") == "id"
    page.get_by_role("link", name="English").click()
    assert page.url == f"{site['url']}/en{regency}"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_text("TPS reported").first.is_visible()
    page.get_by_role("link", name="Bahasa Indonesia").click()
    assert page.url == f"{site['url']}{regency}"
    assert page.locator("html").get_attribute("lang") == "id"


def test_the_search_box_finds_a_village_and_leads_to_its_page(browse, site):
    page = browse(PHONE, javascript=False)
    page.goto("/")
    page.get_by_role("searchbox").fill("bansir laut")
    page.get_by_role("searchbox").press("Enter")
    page.wait_for_url("**/cari/?q=bansir+laut")
    hit = page.locator("ul.hits li", has_text="Bansir Laut (61.71.06.1001)")
    hit.get_by_role("link").click()
    assert page.url == f"{site['url']}{site['contest']}61.71.06.1001/"
    assert page.locator("h1").inner_text().startswith("Bansir Laut")


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_type_passes_the_axe_audit(browse, site, width):
    page = browse(WIDTHS[width])
    axe = Axe()
    found = []
    for name, path in pages_of(site):
        assert page.goto(path).status == (404 if name == "not-found" else 200), path
        if name == "tps":
            scan_image_loaded(page)
        screenshot(page, name, width)
        report = blocking_violations(axe.run(page))
        if report:
            found.append(f"{name} ({path}) at {width}:")
            found.extend(report)
    assert not found, "axe found serious or critical violations:\n" + "\n".join(found)


# The elements that stick out to the right of the window, outside any box that scrolls on its own.
OVERFLOWING = """() => [...document.body.querySelectorAll("*")]
    .filter(e => e.getBoundingClientRect().right > innerWidth && !e.closest(".scroll, pre"))
    .map(e => `${e.tagName.toLowerCase()}.${e.className}: right edge ${Math.round(e.getBoundingClientRect().right)}`)"""


def test_no_page_scrolls_sideways_on_a_360px_screen_without_javascript(browse, site):
    page = browse(PHONE, javascript=False)
    too_wide = {}
    for name, path in pages_of(site):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[name] = (width, page.evaluate(OVERFLOWING))
    assert too_wide == {}


def test_the_contest_page_weighs_under_50_kb_on_the_wire_images_aside(browse, site):
    page = browse(PHONE)
    responses = []
    page.on("requestfinished", lambda request: responses.append(request))
    page.goto(site["contest"], wait_until="load")
    weighed = {
        request.url: request.sizes()["responseHeadersSize"] + request.sizes()["responseBodySize"]
        for request in responses
        if request.resource_type in ("document", "stylesheet", "script", "font")
    }
    assert f"{site['url']}{site['contest']}" in weighed
    assert sum(weighed.values()) < PAGE_BUDGET_BYTES, weighed


def test_nothing_is_loaded_from_another_host(browse, site):
    page = browse(DESKTOP)
    requested = []
    page.context.on("request", lambda request: requested.append(request.url))
    for name, path in pages_of(site):
        page.goto(path, wait_until="load")
        if name == "tps":
            scan_image_loaded(page)
    ours = urlsplit(site["url"]).netloc
    assert requested
    assert [url for url in requested if urlsplit(url).netloc != ours] == []
