"""Numbers and times as the public pages show them: Indonesian grouping, two decimals, the region's zone named."""

import zoneinfo
from decimal import Decimal

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext

from .. import codes, pages

register = template.Library()


def _number(value, decimals):
    """formats.number_format(value, decimals), grouped, as the current language writes it.

    A page shows dozens of numbers, and Django's general formatter was about a
    twelfth of the snapshot's rendering: an int, or a Decimal of at most
    `decimals` places, in groups of three (Indonesian and English), is
    formatted by Python and its separators swapped in.
    """
    exact = isinstance(value, int) or (isinstance(value, Decimal) and value.as_tuple().exponent >= -decimals)
    if not exact or formats.get_format("NUMBER_GROUPING") != 3:
        return formats.number_format(value, decimal_pos=decimals, use_l10n=True, force_grouping=True)
    separators = {ord(","): formats.get_format("THOUSAND_SEPARATOR"), ord("."): formats.get_format("DECIMAL_SEPARATOR")}
    return f"{value:,.{decimals}f}".translate(separators)


@register.filter
def count(value):
    """1.234.567 in Indonesian, 1,234,567 in English; a dash for nothing."""
    if value is None:
        return "–"
    return _number(value, 0)


@register.filter
def percent(value):
    """45,67 in Indonesian, 45.67 in English: always two decimals."""
    if value is None:
        return "–"
    return _number(value, 2)


@register.simple_tag
def address(name, contest=None, code=""):
    """{% url %} for the public pages, reversed once per shape of address (pages.address)."""
    return pages.address(name, contest, code)


@register.simple_tag
def local_time(moment, code):
    """A moment in the zone of the region `code`, the zone named: 27/06/2018 21:05 WIB."""
    if moment is None:
        return "–"
    name, abbreviation = codes.time_zone(code)
    local = timezone.localtime(moment, zoneinfo.ZoneInfo(name))
    return f"{formats.date_format(local, 'SHORT_DATETIME_FORMAT')} {abbreviation}"


@register.filter
def bar_width(percent_value):
    """An SVG width for a percent, never below a hairline so a pair with a few votes still shows."""
    return max(0.3, float(percent_value or 0))


@register.simple_tag
def bar_chart(shares):
    """Each pair's share as a horizontal SVG bar: drawn on the server, no script needed."""
    rows = format_html_join(
        "",
        '<rect x="0" y="{}" width="{}" height="8" fill="{}"><title>{}. {}: {} %</title></rect>',
        (
            (
                index * 10 + 1,
                f"{bar_width(share.percent):.2f}",
                share.candidate.colour or "#555",
                share.candidate.ballot_number,
                share.candidate.name,
                percent(share.percent),
            )
            for index, share in enumerate(shares)
        ),
    )
    return format_html(
        '<svg class="bars" role="img" aria-label="{}" viewBox="0 0 100 {}" preserveAspectRatio="none">{}</svg>',
        gettext("Share of the valid votes per candidate pair"),
        len(shares) * 10,
        rows,
    )
