"""The entry page beside the scan: blind double entry, conflict, resolution and correction, as officers see them."""

import logging
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from results.models import Election, Tally, TallyRevision
from results.services import officer_create, tally_enter
from tests.factories import CandidateFactory, ContestFactory, ElectionFactory, UserFactory
from tests.results.conftest import c1
from tests.uploads import images
from uploads.models import Scan
from uploads.services import batch_receive


@pytest.fixture
def form(kalbar, governor):
    """The governor's C1 form at TPS 001 Bansir Laut (Kota Pontianak)."""
    return Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_1"])


def signed_in(user):
    browser = Client(headers={"accept-language": "en"})
    browser.force_login(user)
    return browser


def entry_url(form):
    return reverse("admin:results_tally_enter", args=[form.pk])


def change_url(form):
    return reverse("admin:results_tally_change", args=[form.pk])


def as_post(numbers, stage="entry", **extra):
    """The numbers as the entry page's fields, as a browser posts them."""
    data = {"stage": stage}
    rows = [(row.voter_list, row.registered, row.voted) for row in numbers.voter_rows]
    rows.append(("disabled", numbers.disabled_registered, numbers.disabled_voted))
    for name, registered, voted in rows:
        for kind, split in (("registered", registered), ("voted", voted)):
            for part in ("men", "women", "total"):
                data[f"{name}_{kind}_{part}"] = getattr(split, part)
    for name in ("ballots_received", "ballots_spoiled", "ballots_unused", "ballots_used"):
        data[name] = getattr(numbers, name)
    for ballot_number, votes in numbers.candidate_votes.items():
        data[f"candidate_{ballot_number}"] = votes
    for name in ("valid_votes", "invalid_votes", "total_votes"):
        data[name] = getattr(numbers, name)
    data.update(extra)
    return data


def shown_messages(response):
    return [str(message) for message in response.context["messages"]]


def cell(html, name):
    """The part of the page that shows one field: its input, the readings beside it, its errors."""
    [found] = [part for part in html.split('<div class="c1-cell')[1:] if f'name="{name}"' in part]
    return found


def test_a_first_entry_is_saved_and_waits_for_a_second_officer(form, officers):
    response = signed_in(officers[0]).post(entry_url(form), as_post(c1([40, 70, 80])), follow=True)

    assert response.redirect_chain == [(change_url(form), 302)]
    assert shown_messages(response) == ["The entry is saved. It waits for a second officer to enter the same form."]
    assert "waiting for a second entry" in response.content.decode()
    form.refresh_from_db()
    assert form.state == Tally.State.AWAITING_SECOND
    assert form.pending_entry.entered_by == officers[0] and not form.pending_entry.published


def test_the_second_officer_sees_nothing_of_the_first_entry(form, officers):
    first = c1([4321, 70, 80], dpt=(2400, 2300))
    tally_enter(tally=form, numbers=first, entered_by=officers[0])

    response = signed_in(officers[1]).get(entry_url(form))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Another officer has entered this form." in html
    assert 'name="candidate_1"' in html
    for number in (4321, first.total_votes, first.ballots_received, first.ballots_unused, 2400, 2300, 4700):
        for spelling in (str(number), f"{number:,}", f"{number:,}".replace(",", ".")):
            assert spelling not in html
    # Not even a number shared with the first entry is filled in.
    assert not re.search(r'name="(candidate_\d|[a-z]+_(registered|voted)_\w+|\w+_votes|ballots_\w+)"[^>]*value=', html)


def test_an_equal_second_entry_publishes_the_form(form, officers):
    first = tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[0])

    response = signed_in(officers[1]).post(entry_url(form), as_post(c1([40, 70, 80])), follow=True)

    assert shown_messages(response) == ["Both entries agree: the form is verified and published."]
    form.refresh_from_db()
    assert form.state == Tally.State.PUBLISHED
    assert form.current_revision.entered_by == officers[1] and form.current_revision.verifies == first


def test_a_different_second_entry_shows_both_values_to_a_third_officer(form, officers):
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[0])
    response = signed_in(officers[1]).post(entry_url(form), as_post(c1([40, 70, 800])), follow=True)
    assert shown_messages(response)[0] == (
        "Your entry is saved, but it differs from the first one: a third person resolves the form."
    )

    html = signed_in(officers[2]).get(entry_url(form)).content.decode()

    pair_3 = cell(html, "candidate_3")
    assert "entry 1: <b>80</b>" in pair_3 and "entry 2: <b>800</b>" in pair_3
    assert "differs" in pair_3 and "c1-differs" in pair_3
    assert 'value="' not in pair_3.split("<input", 1)[1].split(">", 1)[0]  # typed from the scan, not pre-filled
    pair_1 = cell(html, "candidate_1")
    assert "differs" not in pair_1 and 'value="40"' in pair_1  # what both agree on is filled in
    assert "<li>3. Sutarmidji" in html  # the fields that differ, listed above the form
    assert 'name="reason"' in html


@pytest.mark.parametrize("entrant", [0, 1])
def test_the_officers_who_entered_are_told_a_third_person_resolves(form, officers, entrant):
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[0])
    tally_enter(tally=form, numbers=c1([40, 70, 800]), entered_by=officers[1])
    browser = signed_in(officers[entrant])

    html = browser.get(entry_url(form)).content.decode()
    assert "You made one of them, so a third person, who made neither, resolves them." in html
    assert 'id="c1-form"' not in html and "800" not in html

    numbers = as_post(c1([40, 70, 80]), stage="resolution", reason="The scan shows 80.")
    html = browser.post(entry_url(form), numbers).content.decode()
    assert "You made one of the two entries: a third person resolves them." in html
    assert form.revisions.count() == 2


def test_a_resolution_with_its_reason_publishes_the_form(form, officers):
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[0])
    tally_enter(tally=form, numbers=c1([40, 70, 800]), entered_by=officers[1])
    browser = signed_in(officers[2])

    without_reason = browser.post(entry_url(form), as_post(c1([40, 70, 80]), stage="resolution", reason=" "))
    assert "Give the reason: it is published with the reading." in without_reason.content.decode()
    response = browser.post(
        entry_url(form), as_post(c1([40, 70, 80]), stage="resolution", reason="The scan shows 80."), follow=True
    )

    assert shown_messages(response) == ["The two entries are resolved and the form is published."]
    form.refresh_from_db()
    assert form.state == Tally.State.PUBLISHED
    resolution = form.current_revision
    assert (resolution.source, resolution.reason, resolution.entered_by) == (
        "resolution",
        "The scan shows 80.",
        officers[2],
    )
    assert resolution.numbers().candidate_votes == {1: 40, 2: 70, 3: 80}


@pytest.fixture
def published(form, officers):
    tally_enter(tally=form, numbers=c1([40, 70, 884]), entered_by=officers[0])
    tally_enter(tally=form, numbers=c1([40, 70, 884]), entered_by=officers[1])
    form.refresh_from_db()
    return form


def test_the_correction_page_shows_the_published_numbers(published, officers):
    html = signed_in(officers[2]).get(entry_url(published)).content.decode()

    assert "This form is published: revision 2, second officer&#x27;s entry." in html
    pair_3 = cell(html, "candidate_3")
    assert "published: <b>884</b>" in pair_3 and 'value="884"' in pair_3
    assert "correction at the district plenary" in html.lower()


def test_a_correction_without_a_reason_shows_the_error_and_writes_nothing(published, officers):
    response = signed_in(officers[2]).post(entry_url(published), as_post(c1([40, 70, 84]), stage="correction"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Give the reason: it is published with the reading." in html
    assert published.revisions.count() == 2
    published.refresh_from_db()
    assert published.current_revision.numbers().candidate_votes[3] == 884


def test_a_correction_at_the_plenary_is_published_with_its_reason(published, officers):
    numbers = as_post(c1([40, 70, 84]), stage="correction", reason="84, not 884: the scan shows 84.", plenary="on")

    response = signed_in(officers[2]).post(entry_url(published), numbers, follow=True)

    assert shown_messages(response) == ["The correction is published; the reading before it stays public."]
    published.refresh_from_db()
    correction = published.current_revision
    assert (correction.number, correction.source, correction.reason) == (
        3,
        "plenary_correction",
        "84, not 884: the scan shows 84.",
    )
    assert correction.numbers().candidate_votes[3] == 84


def test_an_auditor_may_look_but_not_enter(form, kalbar):
    auditor = officer_create(username="auditor-pontianak", region=kalbar["pontianak"], auditor=True)
    browser = signed_in(auditor)

    assert browser.get(change_url(form)).status_code == 200
    assert entry_url(form) not in browser.get(reverse("admin:results_tally_changelist")).content.decode()
    assert browser.get(entry_url(form)).status_code == 403
    assert browser.post(entry_url(form), as_post(c1([40, 70, 80]))).status_code == 403
    assert not form.revisions.exists()


def test_an_officer_of_another_region_is_refused_and_logged(form, kalbar, caplog):
    singkawang = officer_create(username="petugas-singkawang", region=kalbar["singkawang"])
    browser = signed_in(singkawang)

    with caplog.at_level(logging.WARNING, logger="kpuportal.security"):
        opened = browser.get(entry_url(form))
        posted = browser.post(entry_url(form), as_post(c1([40, 70, 80])))

    for response in (opened, posted):
        assert response.status_code == 403
        assert "<h1>This C1 form is outside your region.</h1>" in response.content.decode()
    assert not form.revisions.exists()
    assert len([record for record in caplog.records if record.name == "kpuportal.security"]) == 2


def test_rule_failures_are_listed_after_a_save_that_breaks_them(form, officers):
    numbers = as_post(c1([40, 70, 80]), valid_votes=191)

    response = signed_in(officers[0]).post(entry_url(form), numbers, follow=True)

    assert shown_messages(response) == [
        "The entry is saved. It waits for a second officer to enter the same form.",
        "The numbers saved break these rules; they stay flagged:",
        "Candidate votes add up to 190, but valid votes are 191.",
        "Valid 191 + invalid 2 ≠ total votes 192.",
    ]
    form.refresh_from_db()
    assert form.state == Tally.State.AWAITING_SECOND and form.pending_entry.valid_votes == 191


def test_the_rules_are_named_for_the_checks_as_you_type(form, officers):
    html = signed_in(officers[0]).get(entry_url(form)).content.decode()

    assert 'id="c1-checks" hidden' in html  # shown by entry.js; without it, the checks after saving
    assert '<li data-rule="candidates_sum_to_valid" hidden><strong>Votes of all pairs = valid votes</strong>' in html
    assert "results/entry.js" in html and "results/entry.css" in html
    assert 'data-list="dpt" data-kind="voted" data-part="total"' in html


def test_the_page_works_for_a_pilkada_form(form, officers):
    html = signed_in(officers[0]).get(entry_url(form)).content.decode()

    for voter_list, label in (("dpt", "DPT"), ("dpph", "DPPh (voters moved in)"), ("dptb", "DPTb")):
        assert label in html
        for kind in ("registered", "voted"):
            assert f'name="{voter_list}_{kind}_women"' in html
    assert "dpk_" not in html and "DPK" not in html
    assert "1. Milton Crosby" in html and "2. Karolin Margret Natasa" in html

    signed_in(officers[0]).post(entry_url(form), as_post(c1([40, 70, 80])))
    entry = form.revisions.get()
    assert sorted(entry.voter_counts.values_list("voter_list", flat=True)) == ["dpph", "dpt", "dptb"]
    assert entry.numbers() == c1([40, 70, 80])


def test_a_general_election_form_has_the_general_election_lists(kalbar, officers):
    election = ElectionFactory(
        name="Pemilu 2024", slug="pemilu-2024", kind=Election.Kind.GENERAL, max_voters_per_station=300
    )
    contest = ContestFactory(election=election, name="Presiden 2024", scope="national", region=None)
    CandidateFactory(contest=contest, ballot_number=1, name="Anies Baswedan")
    form = Tally.objects.create(contest=contest, station=kalbar["tps_bansir_laut_2"])

    html = signed_in(officers[0]).get(entry_url(form)).content.decode()

    assert 'name="dpk_voted_total"' in html and "DPK (special list: e-KTP only)" in html
    assert "dpph_" not in html


def test_counts_are_whole_numbers_of_zero_or_more(form, officers):
    numbers = as_post(c1([40, 70, 80]), candidate_1="-3", candidate_2="lima", candidate_3="", ballots_received="1.2")

    html = signed_in(officers[0]).post(entry_url(form), numbers).content.decode()

    assert "A count cannot be negative." in cell(html, "candidate_1")
    assert "Enter a whole number, such as 125." in cell(html, "candidate_2")
    assert "Enter the number written on the form; 0 if its box is empty." in cell(html, "candidate_3")
    assert "Enter a whole number, such as 125." in cell(html, "ballots_received")
    assert not form.revisions.exists()


def test_a_number_written_with_grouping_is_read_as_written(form, officers):
    numbers = c1([400, 700, 300], dpt=(700, 720))
    grouped = f"{numbers.ballots_received:,}".replace(",", ".")
    assert "." in grouped

    signed_in(officers[0]).post(entry_url(form), as_post(numbers, ballots_received=grouped))

    assert form.revisions.get().ballots_received == numbers.ballots_received


def test_an_officer_does_not_verify_their_own_entry(form, officers):
    browser = signed_in(officers[0])
    browser.post(entry_url(form), as_post(c1([40, 70, 80])))

    html = browser.get(entry_url(form)).content.decode()
    assert "You made the first entry of this form." in html and 'id="c1-form"' not in html

    # A second tab, opened before the first entry was saved, posts it again.
    html = browser.post(entry_url(form), as_post(c1([40, 70, 80]))).content.decode()
    assert "You made the first entry of this form: a different officer makes the second." in html
    assert form.revisions.count() == 1


def test_a_form_published_while_an_officer_typed_is_refused_with_the_reason(form, officers, kalbar):
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[0])
    tally_enter(tally=form, numbers=c1([40, 70, 80]), entered_by=officers[1])
    late = officer_create(username="petugas-4", region=kalbar["pontianak"])

    response = signed_in(late).post(entry_url(form), as_post(c1([40, 70, 81])))

    html = response.content.decode()
    assert "This form is published already: enter a correction with its reason instead." in html
    assert 'name="stage" value="correction"' in html  # the page is now the correction page
    assert form.revisions.count() == 2


@pytest.fixture
def scanned(form, officers, settings, tmp_path, django_capture_on_commit_callbacks):
    """Two pages of the form, uploaded and ingested (tasks run at once)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    pages = [SimpleUploadedFile(f"c1-{n}.jpg", images.jpeg(color=(n, n, n))) for n in (1, 2)]
    with django_capture_on_commit_callbacks(execute=True):
        batch_receive(contest=form.contest, station=form.station, files=pages, uploaded_by=officers[0])
    scans = list(Scan.objects.filter(tally=form).order_by("page"))
    assert [scan.status for scan in scans] == [Scan.Status.READY, Scan.Status.READY]
    return scans


def test_the_scan_pages_are_shown_and_those_read_are_kept_with_the_entry(form, officers, scanned):
    html = signed_in(officers[0]).get(entry_url(form)).content.decode()

    for scan in scanned:
        assert f'src="{scan.web.url}"' in html
        assert f'value="{scan.sha256}"' in html
    assert 'for="c1-page-2"' in html and "Open full size" in html and 'id="c1-zoom"' in html

    signed_in(officers[0]).post(entry_url(form), as_post(c1([40, 70, 80]), scans=[scanned[1].sha256]))

    assert form.revisions.get().scan_digests == [scanned[1].sha256]


def test_a_form_without_a_ready_scan_says_so(form, officers):
    html = signed_in(officers[0]).get(entry_url(form)).content.decode()

    assert "No scan of this form is ready yet." in html
    assert reverse("admin:uploads_scan_upload") in html


def test_the_list_and_the_form_link_to_the_entry_page(form, officers):
    browser = signed_in(officers[0])

    listing = browser.get(reverse("admin:results_tally_changelist")).content.decode()
    assert f'<a href="{entry_url(form)}">Enter the numbers</a>' in listing
    page = browser.get(change_url(form)).content.decode()
    assert f'<a href="{entry_url(form)}">Enter the numbers</a>' in page


def test_the_form_shows_its_state_and_published_reading(published, officers):
    html = signed_in(officers[2]).get(change_url(published)).content.decode()

    assert "published" in html
    assert published.current_revision.digest in html
    assert "revision 2" in html
    assert f'<a href="{entry_url(published)}">Correct the numbers</a>' in html


def test_the_form_page_writes_nothing_of_a_reading(published, officers, kalbar):
    browser = signed_in(UserFactory(username="root", is_superuser=True))
    page = browser.get(change_url(published)).content.decode()
    assert 'name="_save"' not in page and 'name="state"' not in page

    browser.post(
        change_url(published),
        {"contest": published.contest.pk, "station": kalbar["tps_pasiran_1"].pk, "state": "empty"},
    )

    published.refresh_from_db()
    assert published.state == Tally.State.PUBLISHED and published.station == kalbar["tps_bansir_laut_1"]
    assert TallyRevision.objects.filter(tally=published).count() == 2


def test_the_first_entry_stays_hidden_everywhere_in_the_admin_until_the_second(kalbar, governor, officers, client):
    from django.urls import reverse

    from results.models import Tally, TallyRevision
    from results.services import tally_enter
    from tests.results.conftest import c1

    form = Tally.objects.create(contest=governor, station=kalbar["tps_bansir_laut_1"])
    first = tally_enter(tally=form, numbers=c1([4321, 70, 80]), entered_by=officers[0])
    client.force_login(officers[1])
    for url in (
        reverse("admin:results_tallyrevision_changelist"),
        reverse("admin:results_tally_change", args=[form.pk]),
    ):
        html = client.get(url).content.decode()
        assert "4321" not in html and reverse("admin:results_tallyrevision_change", args=[first.pk]) not in html
    response = client.get(reverse("admin:results_tallyrevision_change", args=[first.pk]))
    assert response.status_code == 302 and "4321" not in client.get(response.url).content.decode()
    client.force_login(officers[0])
    assert "4321" in client.get(reverse("admin:results_tallyrevision_change", args=[first.pk])).content.decode()
    tally_enter(tally=form, numbers=c1([4321, 70, 80]), entered_by=officers[1])
    client.force_login(officers[2])
    assert client.get(reverse("admin:results_tallyrevision_change", args=[first.pk])).status_code == 200
    assert TallyRevision.objects.published().count() == 1
