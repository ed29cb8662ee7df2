"""The C1 entry form: the numbers of one paper form, laid out as the paper lays them out."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from .arithmetic import C1Numbers, Split, VoterRow
from .models import TallyRevision, VoterCount, VoterList

ENTRY = "entry"
RESOLUTION = "resolution"
CORRECTION = "correction"
STAGES = (ENTRY, RESOLUTION, CORRECTION)

PARTS = ("men", "women", "total")
KINDS = ("registered", "voted")
# Single counts, in the order of the paper form; labels and help come from the reading's model fields.
BALLOTS = ("ballots_received", "ballots_spoiled", "ballots_unused", "ballots_used")
TOTALS = ("valid_votes", "invalid_votes", "total_votes")

# The rules the page rechecks while the officer types (static/results/entry.js),
# named here so that their names come in the officer's language. The codes are
# those of arithmetic.c1_failures, which checks them all again on save.
LIVE_RULES = (
    ("no_negative", _("No negative numbers")),
    ("men_plus_women", _("Men + women = total on every voter row")),
    ("candidates_sum_to_valid", _("Votes of all pairs = valid votes")),
    ("valid_plus_invalid", _("Valid + invalid votes = total votes")),
    ("total_equals_ballots_used", _("Total votes = ballots used")),
    ("ballots_used_equals_voters", _("Ballots used = voters who used their right")),
    ("ballots_balance", _("Used + unused + spoiled ballots = ballots received")),
    ("turnout_at_most_registered", _("Voters who used their right ≤ registered voters")),
)

# A number written with grouping (1.234, 1,234 or 1 234): an officer copying
# the form may type it that way, and a count has no decimals to confuse it with.
GROUPED = re.compile(r"^\d{1,3}(?:[.,\s\u00a0\u202f]\d{3})+$")


class CountField(forms.IntegerField):
    """A count written on the form: a whole number, zero or more."""

    # A text box with a numeric keypad rather than <input type="number">: the
    # mouse wheel does not change it behind the officer's back, and 1.234 is
    # accepted as typed.
    widget = forms.TextInput

    default_error_messages = {
        "required": _("Enter the number written on the form; 0 if its box is empty."),
        "invalid": _("Enter a whole number, such as 125."),
        "min_value": _("A count cannot be negative."),
        "max_value": _("No count on a C1 form is this large; check the number."),
    }

    def __init__(self, *, attrs=None, **kwargs):
        # PositiveIntegerField holds up to 2,147,483,647; no TPS comes near a million.
        super().__init__(min_value=0, max_value=999_999, **kwargs)
        self.widget.attrs.update({"inputmode": "numeric", "autocomplete": "off", "size": 6, **(attrs or {})})

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip()
            if GROUPED.match(value):
                value = re.sub(r"\D", "", value)
        return super().to_python(value)


def split_name(row, kind, part):
    """`dpt_registered_men`; for the row of voters with disabilities, the reading's own field name."""
    return f"{row}_{kind}_{part}"


def candidate_name(ballot_number):
    return f"candidate_{ballot_number}"


def _model_field(name):
    return TallyRevision._meta.get_field(name)


def _voter_count_field(name):
    return VoterCount._meta.get_field(name)


def reading_values(numbers):
    """A reading (C1Numbers) as the form's field values: the inverse of C1EntryForm.numbers()."""
    values = {}
    rows = [(row.voter_list, row.registered, row.voted) for row in numbers.voter_rows]
    rows.append(("disabled", numbers.disabled_registered, numbers.disabled_voted))
    for row, registered, voted in rows:
        for kind, split in zip(KINDS, (registered, voted)):
            for part in PARTS:
                values[split_name(row, kind, part)] = getattr(split, part)
    for name in BALLOTS + TOTALS:
        values[name] = getattr(numbers, name)
    for ballot_number, votes in numbers.candidate_votes.items():
        values[candidate_name(ballot_number)] = votes
    return values


def scan_label(scan):
    return _("page %(page)s · %(sha256)s…") % {"page": scan.page, "sha256": scan.sha256[:10]}


class C1EntryForm(forms.Form):
    """The numbers of one C1 form, built for its contest: the voter lists of its election kind, its pairs.

    `stage` says what saving does: a blind entry, the resolution of two
    entries that disagree, or a correction of the published reading; the last
    two need a reason. `references` are readings shown beside each field (the
    two entries that disagree, or the published reading): (heading, values as
    reading_values gives them) pairs.
    """

    stage = forms.ChoiceField(choices=[(stage, stage) for stage in STAGES], widget=forms.HiddenInput)

    def __init__(self, *args, tally, stage, scans=(), references=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.voter_lists = [VoterList(voter_list) for voter_list in tally.contest.election.voter_lists]
        self.candidates = list(tally.contest.candidates.order_by("ballot_number"))
        self.references = list(references)
        self.fields["stage"].initial = stage
        self.layout = []

        for kind, title in (("registered", _("Registered voters")), ("voted", _("Voters who used their right"))):
            self._section(title)
            for voter_list in self.voter_lists:
                # "DPT (permanent voter list), registered: men"
                labels = [f"{voter_list.label}, {_voter_count_field(f'{kind}_{part}').verbose_name}" for part in PARTS]
                self._add_split(voter_list.value, kind, voter_list.label, labels, row=f"{title} · {voter_list.label}")
        self._section(_("Voters with disabilities"))
        for kind, row_label in (("registered", _("registered")), ("voted", _("who used their right"))):
            labels = [_model_field(f"disabled_{kind}_{part}").verbose_name for part in PARTS]
            self._add_split("disabled", kind, row_label, labels, row=f"{_('Voters with disabilities')} · {row_label}")
        self._section(_("Ballots"))
        for name in BALLOTS:
            self._add_single(name, _model_field(name).verbose_name, _model_field(name).help_text)
        self._section(_("Votes"))
        for candidate in self.candidates:
            name = candidate_name(candidate.ballot_number)
            self._add_single(name, str(candidate), "", {"data-candidate": candidate.ballot_number})
        for name in TOTALS:
            self._add_single(name, _model_field(name).verbose_name, _model_field(name).help_text)

        self.fields["scans"] = forms.MultipleChoiceField(
            label=_("read from the scan pages"),
            choices=[(scan.sha256, scan_label(scan)) for scan in scans],
            widget=forms.CheckboxSelectMultiple,
            required=False,
            help_text=_("The pages you read these numbers from; their fingerprints are kept with the reading."),
        )
        self.initial.setdefault("scans", [scan.sha256 for scan in scans])

        if stage in (RESOLUTION, CORRECTION):
            example = (
                _("The scan shows 80 for pair 3; the second entry read 800.")
                if stage == RESOLUTION
                else _("Pair 3 has 84 votes, not 884: the scan shows 84.")
            )
            self.fields["reason"] = forms.CharField(
                label=_("reason"),
                widget=forms.Textarea(attrs={"rows": 3}),
                error_messages={"required": _("Give the reason: it is published with the reading.")},
                help_text=_("Why these are the right numbers, such as “%(example)s”") % {"example": example},
            )
        if stage == CORRECTION:
            self.fields["plenary"] = forms.BooleanField(
                label=_("correction at the district plenary"),
                required=False,
                help_text=_("Tick when the district plenary (rapat pleno kecamatan) decided this correction."),
            )

    def _section(self, title):
        self.layout.append({"title": title, "splits": [], "singles": []})

    def _add_split(self, key, kind, row_label, labels, *, row):
        """A voter row of men / women / total, as on the paper; `row` names it in the live checks."""
        names = []
        for part, label in zip(PARTS, labels):
            name = split_name(key, kind, part)
            attrs = {"data-list": key, "data-kind": kind, "data-part": part, "data-row": row}
            self.fields[name] = CountField(label=label, attrs=attrs)
            names.append(name)
        self.layout[-1]["splits"].append((row_label, names))

    def _add_single(self, name, label, help_text, attrs=None):
        self.fields[name] = CountField(label=label, help_text=help_text, attrs={**(attrs or {}), "data-name": name})
        self.layout[-1]["singles"].append(name)

    def _cell(self, name):
        """A field with the values the references give it, and whether they disagree."""
        hints = [(heading, values.get(name)) for heading, values in self.references]
        differs = len({value for _heading, value in hints}) > 1
        if len(hints) > 1 and not differs:
            # Two entries that agree take one line.
            hints = [(_("both entries"), hints[0][1])]
        return {"field": self[name], "hints": hints, "differs": differs}

    def sections(self):
        """The fields as the template lays them out: voter rows of men / women / total, then single counts."""
        return [
            {
                "title": section["title"],
                "splits": [(label, [self._cell(name) for name in names]) for label, names in section["splits"]],
                "singles": [self._cell(name) for name in section["singles"]],
            }
            for section in self.layout
        ]

    def differing_labels(self):
        """Labels of the fields on which the references disagree, in the form's order."""
        names = [name for name, field in self.fields.items() if isinstance(field, CountField)]
        return [self.fields[name].label for name in names if self._cell(name)["differs"]]

    def numbers(self):
        """The cleaned counts as a reading the tally services take."""
        data = self.cleaned_data

        def split(row, kind):
            return Split(*(data[split_name(row, kind, part)] for part in PARTS))

        return C1Numbers(
            voter_rows=tuple(
                VoterRow(voter_list.value, split(voter_list.value, "registered"), split(voter_list.value, "voted"))
                for voter_list in self.voter_lists
            ),
            disabled_registered=split("disabled", "registered"),
            disabled_voted=split("disabled", "voted"),
            candidate_votes={c.ballot_number: data[candidate_name(c.ballot_number)] for c in self.candidates},
            **{name: data[name] for name in BALLOTS + TOTALS},
        )

    def scan_digests(self):
        return list(self.cleaned_data["scans"])
