"""The static snapshot: the whole public site as files, incremental, atomic, signed and checkable by anyone."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import translation

import snapshot.services
from results import pages, selectors
from results.models import WHOLE_COUNTRY, Contest, Region, Tally
from results.services import tally_enter
from snapshot.services import (
    MANIFEST,
    _manifest_body,
    current_dir,
    current_manifest,
    snapshot_build,
    snapshot_compact,
    snapshot_compaction_due,
    snapshot_file,
    snapshot_files,
    snapshot_trash_empty,
)
from snapshot.tasks import refresh_snapshot
from tests.factories import ContestFactory, RegionFactory
from tests.results.conftest import c1
from tests.snapshot.conftest import publish

ROOT = Path(__file__).resolve().parents[2]


def test_the_snapshot_holds_every_page_of_the_site_with_a_banner(counted):
    built = snapshot_build()
    site = current_dir()
    contest = f"pilkada-2018/{counted.slug}"
    for name in (
        "index.html",
        "en/index.html",
        "cari/index.html",
        f"{contest}/index.html",
        f"en/{contest}/61.71/index.html",
        f"{contest}/61.71.06.1001/index.html",
        f"{contest}/61.71.06.1001.001/index.html",
        f"{contest}/61.71/widget/index.html",
        f"api/v1/{contest}.json",
        f"api/v1/{contest}/61.71.csv",
        f"api/v1/{contest}/tps/61.71.06.1001.001.json",
        "api/v1/contests.json",
        "static/results/site.css",
    ):
        assert (site / name).is_file(), name
    page = (site / f"{contest}/61.71.06.1001.001/index.html").read_text()
    assert "salinan statis" in page.lower()
    assert "/static/results/site.css" in page
    regions = Region.objects.filter(code__startswith="61").count() + 1  # the area itself, by code and by its address
    assert built.rendered >= 6 * regions


def test_a_second_snapshot_renders_only_the_pages_above_what_was_published(counted):
    first = snapshot_build()
    first_dir = current_dir()
    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    second = snapshot_build()
    # The TPS: its page in two languages, JSON, CSV (4). Each of its four ancestors (Kalbar, Pontianak,
    # Pontianak Tenggara, Bansir Laut): page and widget in two languages, JSON, CSV (24). The home page in
    # two languages and contests.json (3).
    assert second.rendered == 31
    assert second.reused == first.rendered + first.reused - 31
    assert (second.generation, second.base) == (first.generation + 1, first.generation)
    # The new generation is a layer: those 31 files, and the first snapshot as its base for the rest.
    layer = current_dir()
    manifest = json.loads((layer / MANIFEST).read_text())
    assert len(manifest["files"]) == manifest["layer"] == 31 and manifest["total"] == second.files
    assert manifest["base"]["generation"] == first.generation
    contest = f"pilkada-2018/{counted.slug}"
    assert f"{contest}/61.71.06.1001.002/index.html" in manifest["files"]
    untouched = f"{contest}/61.72/index.html"  # Singkawang: not rendered, not even linked
    assert not (layer / untouched).exists()
    assert snapshot_file(layer, untouched).stat().st_ino == (first_dir / untouched).stat().st_ino
    assert set(snapshot_files()) == set(snapshot_files(first_dir))
    document = json.loads((layer / f"api/v1/{contest}/tps/61.71.06.1001.002.json").read_text())
    assert document["current"]["document"]["candidates"] == {"1": 1, "2": 2, "3": 3}
    call_command("snapshot_verify", str(layer))


def test_pages_rendered_in_batches_that_split_a_region_are_the_same_files(counted, monkeypatch):
    """A build reads its regions and TPS a batch of pages at a time; a batch may end inside a region's six files."""
    snapshot_build()
    whole = {name: entry["sha256"] for name, entry in snapshot_files(current_dir()).items()}
    monkeypatch.setattr(snapshot.services, "RENDER_BATCH", 4)
    alone = []  # a region or TPS read by itself, not with its batch

    def read_alone(read):
        return lambda contest, code: alone.append(code) or read(contest, code)

    for name in ("region_page", "station_page"):
        monkeypatch.setattr(selectors, name, read_alone(getattr(selectors, name)))
    assert snapshot_build(full=True).rendered == len(whole)
    assert alone == []
    batched = {name: entry["sha256"] for name, entry in snapshot_files(current_dir()).items()}
    assert batched == whole


def test_a_layer_keeps_what_the_layer_before_it_rendered_as_links(counted, settings):
    settings.SNAPSHOT_COMPACT_PERCENT = 100  # this site is small: 31 files are a tenth of it
    snapshot_build()
    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    snapshot_build()
    second = current_dir()
    publish(counted, "61.72.01.1001.001", [4, 5, 6])  # Singkawang: Kalbar and the home page again, nothing else
    third = snapshot_build()
    assert third.rendered == 31
    layer = current_dir()
    files = json.loads((layer / MANIFEST).read_text())["files"]
    contest = f"pilkada-2018/{counted.slug}"
    earlier = f"{contest}/61.71.06.1001.002/index.html"
    assert (layer / earlier).stat().st_ino == (second / earlier).stat().st_ino  # linked, not rendered again
    assert f"{contest}/61.72.01.1001.001/index.html" in files and earlier in files
    assert len(files) == 31 + 31 - 9  # the Kalbar pages and the home page are in both
    call_command("snapshot_verify", str(layer))


def test_a_compaction_writes_the_layer_whole_and_the_next_build_is_a_layer_over_it(counted, settings):
    settings.SNAPSHOT_COMPACT_PERCENT = 100
    first = snapshot_build()
    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    layer = snapshot_build()
    layer_dir = current_dir()
    assert not snapshot_compaction_due()
    settings.SNAPSHOT_COMPACT_PERCENT = 0  # any layer is too large now
    assert snapshot_compaction_due()
    compacted = snapshot_compact()
    assert compacted.generation == layer.generation and current_dir() == layer_dir  # the current snapshot stays
    base = settings.SNAPSHOT_ROOT / "generations" / f"{layer.generation:08d}-base"
    assert json.loads((base / MANIFEST).read_text())["files"] == snapshot_files(layer_dir)
    call_command("snapshot_verify", str(base))
    contest = f"pilkada-2018/{counted.slug}"
    for name in (f"{contest}/61.71.06.1001.002/index.html", f"{contest}/61.71.06.1002/index.html"):
        assert (base / name).stat().st_ino == snapshot_file(layer_dir, name).stat().st_ino, name  # hard links
    assert snapshot_compact() is None  # written whole already

    settings.SNAPSHOT_COMPACT_PERCENT = 100
    publish(counted, "61.72.01.1001.001", [4, 5, 6])
    after = snapshot_build()
    assert (after.base, after.rendered) == (layer.generation, 31)
    assert (current_dir() / "_base").resolve() == base
    # The first layer's files are in the new base: the new layer holds only what changed since.
    assert len(json.loads((current_dir() / MANIFEST).read_text())["files"]) == 31
    call_command("snapshot_verify", str(current_dir()))
    snapshot_build()
    generations = sorted(path.name for path in (settings.SNAPSHOT_ROOT / "generations").iterdir())
    assert f"{first.generation:08d}" not in generations and base.name in generations


def test_builds_go_on_while_a_compaction_runs_and_keep_what_it_reads(counted, settings):
    settings.SNAPSHOT_COMPACT_PERCENT = 100
    snapshot_build()
    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    source = snapshot_build()
    contest = f"pilkada-2018/{counted.slug}"
    builds = []

    def build_twice_half_way(count, seen=[]):  # noqa: B006 - counts calls across the compaction
        seen.append(count)
        if len(seen) == 10:  # two builds: the source is neither current nor the one before it
            publish(counted, "61.72.01.1001.001", [4, 5, 6])
            builds.extend([snapshot_build(), snapshot_build()])

    compacted = snapshot_compact(progress=build_twice_half_way)
    assert compacted.generation == source.generation and [built.base for built in builds] == [1, 1]
    base = settings.SNAPSHOT_ROOT / "generations" / f"{source.generation:08d}-base"
    call_command("snapshot_verify", str(base))  # every file linked, though its source was no longer current
    assert snapshot_compact() is None  # the current layer's next build goes over that newer base
    after = snapshot_build()
    assert after.base == source.generation and after.rendered == 0
    files = json.loads((current_dir() / MANIFEST).read_text())["files"]
    assert f"{contest}/61.72.01.1001.001/index.html" in files  # published after the source: in the layer
    assert f"{contest}/61.71.06.1001.002/index.html" not in files  # published before: in the new base
    call_command("snapshot_verify", str(current_dir()))


def test_an_interrupted_compaction_leaves_nothing_a_build_would_take(counted, settings):
    settings.SNAPSHOT_COMPACT_PERCENT = 100
    snapshot_build()
    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    snapshot_build()

    def interrupt(count, seen=[]):  # noqa: B006
        seen.append(count)
        if len(seen) == 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        snapshot_compact(progress=interrupt)
    assert snapshot_build().base == 1  # not over the half-written base
    generations = sorted(path.name for path in (settings.SNAPSHOT_ROOT / "generations").iterdir())
    assert not [name for name in generations if "-base" in name]  # and the next build removed it


def test_the_periodic_task_queues_the_compaction_of_a_grown_layer(counted, settings):
    settings.SNAPSHOT_COMPACT_PERCENT = 100
    refresh_snapshot()
    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    settings.SNAPSHOT_COMPACT_PERCENT = 0
    generation = refresh_snapshot()  # tasks run at once here: the compaction too
    assert (settings.SNAPSHOT_ROOT / "generations" / f"{generation:08d}-base").is_dir()
    assert refresh_snapshot() == generation + 1 and current_manifest()["base"]["generation"] == generation


def test_a_snapshot_written_before_layers_is_followed_by_a_whole_one(counted, settings):
    first = snapshot_build()
    (
        settings.SNAPSHOT_ROOT / f"generations/{first.generation:08d}.versions.json"
    ).unlink()  # as an older portal left it
    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    second = snapshot_build()
    assert (second.base, second.rendered) == (second.generation, 31)  # whole: the rest linked
    assert snapshot_build().base == second.generation  # and a layer over it next
    call_command("snapshot_verify", str(current_dir()))


def test_a_damaged_index_of_the_base_makes_the_next_build_whole_not_a_failure(counted, settings, caplog):
    first = snapshot_build()
    index = settings.SNAPSHOT_ROOT / f"generations/{first.generation:08d}.versions.json"
    index.write_bytes(index.read_bytes()[:100])  # cut short, as a full disk leaves a file
    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    second = snapshot_build()
    assert (second.base, second.rendered) == (second.generation, 31)
    assert "unreadable" in caplog.text
    assert snapshot_build().base == second.generation  # a layer over the new base next
    call_command("snapshot_verify", str(current_dir()))


def test_the_snapshot_command_writes_a_grown_layer_whole_after_its_build(counted, settings, capsys):
    settings.SNAPSHOT_COMPACT_PERCENT = 100
    call_command("snapshot")
    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    settings.SNAPSHOT_COMPACT_PERCENT = 0
    call_command("snapshot")
    out = capsys.readouterr().out
    assert "Snapshot 2 is current: 31 pages rendered" in out
    assert "Snapshot 2 written whole, the base of the next ones" in out
    assert (settings.SNAPSHOT_ROOT / "generations/00000002-base").is_dir()


def test_a_region_gone_from_the_site_makes_the_build_a_new_base_without_it(counted):
    village = RegionFactory(code="61.71.06.1003", name="Tambelan Sampit")
    snapshot_build()
    page = f"pilkada-2018/{counted.slug}/61.71.06.1003/index.html"
    assert page in snapshot_files()
    village.delete()
    built = snapshot_build()
    assert built.base == built.generation  # a layer would have left the village's pages showing from its base
    assert page not in snapshot_files() and not (current_dir() / page).exists()
    call_command("snapshot_verify", str(current_dir()))


def test_an_interrupted_snapshot_leaves_the_previous_one_current_and_whole(counted, settings, monkeypatch):
    snapshot_build()
    before = current_dir()
    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    monkeypatch.setattr(snapshot.services, "RENDER_BATCH", 10)  # progress is told after each batch, 7 in all

    def interrupt_half_way(count, seen=[]):  # noqa: B006 - counts calls across the build
        seen.append(count)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        snapshot_build(full=True, progress=interrupt_half_way)
    assert current_dir() == before
    call_command("snapshot_verify", str(before))
    after = snapshot_build()
    assert current_dir() != before and after.generation == current_manifest()["generation"]
    leftovers = sorted(path.name for path in (settings.SNAPSHOT_ROOT / "generations").iterdir())
    assert leftovers == [
        before.name,
        f"{before.name}.versions.json",
        current_dir().name,
        f"{current_dir().name}.versions.json",
    ]


def test_verify_accepts_the_portal_snapshot_and_names_every_altered_file(counted, tmp_path, capsys):
    snapshot_build()
    site = current_dir()
    call_command("snapshot_verify", str(site))
    page = site / f"pilkada-2018/{counted.slug}/61.71/index.html"
    page.write_text(page.read_text().replace("Kota Pontianak", "Kota Palsu"))
    (site / "api/v1/contests.json").unlink()
    with pytest.raises(CommandError, match="2 problems"):
        call_command("snapshot_verify", str(site))
    err = capsys.readouterr().err
    assert "61.71/index.html: differs" in err and "contests.json: missing" in err


def test_a_manifest_signed_by_another_key_is_refused(counted, tmp_path):
    snapshot_build()
    manifest = current_dir() / MANIFEST
    manifest.write_text(manifest.read_text().replace('"generation": 1', '"generation": 7'))
    with pytest.raises(CommandError):
        call_command("snapshot_verify", str(current_dir()))


def test_a_build_sets_old_generations_aside_and_the_trash_is_emptied_apart(counted, settings):
    first = snapshot_build(full=True)
    snapshot_build(full=True)
    snapshot_build(full=True)  # the first is neither current nor the one before it now
    trash = settings.SNAPSHOT_ROOT / "trash"
    [aside] = trash.iterdir()
    assert aside.name.startswith(f"{first.generation:08d}.") and (aside / "index.html").is_file()
    assert snapshot_trash_empty() == 1 and not any(trash.iterdir())
    # The periodic task has it emptied (at once here, where tasks run in the caller).
    refresh_snapshot()
    assert not any(trash.iterdir())


def test_the_readme_script_checks_a_snapshot_without_django(counted, settings):
    """The few lines the README gives a mirror's keeper, run in a bare interpreter, on a layer."""
    snapshot_build()
    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    assert snapshot_build().base == 1
    readme = (ROOT / "README.md").read_text()
    script = readme.split("<!-- snapshot-verify -->", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    key = settings.SNAPSHOT_KEY_FILE.with_suffix(".pub")
    key.write_text((current_dir() / "snapshot/public-key.pem").read_text())

    def check(site):
        return subprocess.run([sys.executable, "-I", "-c", script, str(site), str(key)], capture_output=True, text=True)

    checked = check(current_dir())
    assert checked.returncode == 0, checked.stderr
    assert "ok" in checked.stdout
    (current_dir() / "_base/cari/index.html").write_text("altered")  # a file the layer leaves to its base
    checked = check(current_dir())
    assert checked.returncode != 0 and "cari/index.html" in checked.stdout + checked.stderr


def test_the_readme_mirror_command_copies_a_layer_over_its_base(counted, settings, tmp_path):
    snapshot_build()
    publish(counted, "61.71.06.1001.002", [1, 2, 3])
    snapshot_build()
    readme = (ROOT / "README.md").read_text()
    command = readme.split("`rsync ", 1)[1].split("`", 1)[0]
    mirror = tmp_path / "mirror"
    env = {"PATH": os.environ["PATH"], "KPU_SNAPSHOT_ROOT": str(settings.SNAPSHOT_ROOT)}
    subprocess.run(f"rsync {command}", shell=True, cwd=tmp_path, env=env, check=True)
    assert not (mirror / "_base").exists()
    assert sorted(str(path.relative_to(mirror)) for path in mirror.rglob("*") if path.is_file()) == sorted(
        [*snapshot_files(), MANIFEST, f"{MANIFEST}.sig", "snapshot/public-key.pem", "snapshot/manifests/00000001.json"]
    )
    call_command("snapshot_verify", str(mirror))
    for name in (MANIFEST, f"pilkada-2018/{counted.slug}/61.71.06.1001.002/index.html"):  # the layer's, not the base's
        assert (mirror / name).read_bytes() == (current_dir() / name).read_bytes(), name


@pytest.mark.postgres  # an in-memory SQLite test database cannot be taken away and given back
@pytest.mark.django_db(transaction=True)
def test_public_pages_come_from_the_snapshot_when_the_database_is_gone(client, kalbar, governor, officers):
    form = Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_1"])
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[0])
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[1])
    snapshot_build()
    client.force_login(officers[0])
    page = f"/pilkada-2018/{governor.slug}/61.71/"
    settings_dict = connection.settings_dict
    saved = dict(settings_dict)
    connection.close()
    try:
        settings_dict.update(HOST="127.0.0.1", PORT="1")  # the database is somewhere nothing answers
        response = client.get(page)
        assert response.status_code == 200
        assert response["X-Snapshot"]
        assert "Kota Pontianak" in b"".join(response.streaming_content).decode()
        admin = client.get("/admin/")
        assert admin.status_code == 503
        assert "admin is unavailable" in admin.content.decode()
        assert client.get("/health/ready").status_code == 503
        assert client.get("/health/live").status_code == 200
    finally:
        connection.close()
        settings_dict.clear()
        settings_dict.update(saved)


def test_every_page_address_is_the_one_reverse_gives(counted, kalbar):
    """Addresses are reversed once per shape and filled in with each code: the same as reversing each one."""
    nationwide = ContestFactory(election=counted.election, scope=Contest.Scope.NATIONAL, region=None, slug="presiden-9")
    odd = ContestFactory(election=counted.election, slug="pilkada-9081726354")  # a slug holding the sample code
    codes = ["", WHOLE_COUNTRY, "61", "61.71", "61.71.06", "61.71.06.1001", "61.71.06.1001.001", "61.71.06.1001.012"]
    for contest in (counted, nationwide, odd):
        for code in codes:
            kwargs = {"election": contest.election.slug, "contest": contest.slug}
            if code and code != contest.area_code:
                kwargs["code"] = code
            twin = "station" if code.count(".") == 4 else "region" if "code" in kwargs else "area"
            for language in ("id", "en"):
                with translation.override(language):
                    assert pages.page_url(contest, code) == reverse("results:region", kwargs=kwargs)
                    assert pages.address("results:widget", contest, code) == reverse("results:widget", kwargs=kwargs)
                    assert pages.address("results:feed", contest, code) == reverse("results:feed", kwargs=kwargs)
                    for fmt in ("json", "csv"):
                        assert pages.api_url(contest, code, fmt) == reverse(f"api-1:{twin}_{fmt}", kwargs=kwargs)
    for name in ("results:home", "results:search", "api-1:openapi-view"):
        with translation.override("en"):
            assert pages.address(name) == reverse(name)


def test_the_manifest_is_json_with_one_file_a_line():
    files = {f"{code}/index.html": {"sha256": "ab" * 32, "size": 7, "version": "v:1"} for code in ("61.71", "61")}
    manifest = {"generation": 2, "as_of": "2026-11-28T19:00:00+07:00", "heads": {"pilkada/gubernur": {}}}
    body = _manifest_body({**manifest, "files": files})
    assert json.loads(body) == {**manifest, "files": files}
    assert body.decode().splitlines()[1:3] == [
        f'"61.71/index.html": {json.dumps(files["61.71/index.html"])},',
        f'"61/index.html": {json.dumps(files["61/index.html"])}',
    ]
    assert json.loads(_manifest_body({"files": {}})) == {"files": {}}
