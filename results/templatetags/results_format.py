"""Numbers and times as the public pages show them: Indonesian grouping, two decimals, the region's zone named."""

import zoneinfo

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext

from .. import codes

register = template.Library()


@register.filter
def count(value):
    """1.234.567 in Indonesian, 1,234,567 in English; a dash for nothing."""
    if value is None:
        return "–"
    return formats.number_format(value, decimal_pos=0, use_l10n=True, force_grouping=True)


@register.filter
def percent(value):
    """45,67 in Indonesian, 45.67 in English: always two decimals."""
    if value is None:
        return "–"
    return formats.number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)


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
