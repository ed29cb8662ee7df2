from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils.translation import gettext_lazy as _

from results.models import Contest, PollingStation, Tally


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/tiff,.zip"})
        )
        # An empty file gets its own line in the upload report instead of failing the form.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        clean_one = super().clean
        if isinstance(data, (list, tuple)):
            return [clean_one(item, initial) for item in data]
        return [clean_one(data, initial)]


class FormPagesUploadForm(forms.Form):
    contest = forms.ModelChoiceField(Contest.objects.select_related("election"), label=_("contest"))
    # Every TPS is a valid choice here on purpose: one outside the officer's
    # region is refused, and logged, by the upload service itself.
    station = forms.ModelChoiceField(
        PollingStation.objects.all(),
        label=_("TPS"),
        widget=AutocompleteSelect(Tally._meta.get_field("station"), admin.site),
    )
    first_page = forms.IntegerField(label=_("first page"), min_value=1, max_value=99, initial=1)
    files = MultipleFileField(
        label=_("scanned pages"), help_text=_("One image per page, in page order: JPEG, PNG, WebP or TIFF.")
    )


class BulkUploadForm(forms.Form):
    contest = forms.ModelChoiceField(Contest.objects.select_related("election"), label=_("contest"))
    files = MultipleFileField(
        label=_("files"),
        help_text=_(
            "Images named by TPS code and page, such as 61.71.06.1001.001-1.jpg or 6171061001001-2.png, "
            "or zip files of them."
        ),
    )
