"""The public pages' numbers: Python's own formatting, with the separators swapped in, is Django's, to the digit."""

from decimal import Decimal

import pytest
from django.utils import formats, translation

from results.templatetags.results_format import count, percent

NUMBERS = [0, 7, 999, 1000, 45_678, 1_234_567, -1234, 10**12]
DECIMALS = ["0.00", "45.67", "100.00", "-3.50", "1234.5", "98765.4", "1E+2", "0", "12345.678", "0.005"]


@pytest.mark.parametrize("language", ["id", "en"])
def test_counts_and_percents_are_what_django_formats(language):
    with translation.override(language):
        for value in NUMBERS:
            assert count(value) == formats.number_format(value, 0, use_l10n=True, force_grouping=True), value
        for value in [*map(Decimal, DECIMALS), 12.345, 3]:
            assert percent(value) == formats.number_format(value, 2, use_l10n=True, force_grouping=True), value
        assert count(None) == percent(None) == "–"


def test_indonesian_groups_with_dots_and_english_with_commas():
    with translation.override("id"):
        assert (count(1_234_567), percent(Decimal("1234.5"))) == ("1.234.567", "1.234,50")
    with translation.override("en"):
        assert (count(1_234_567), percent(Decimal("1234.5"))) == ("1,234,567", "1,234.50")
