"""Why a file was refused or a scan rejected.

Stored as a code and its parameters, never as text: the officer who uploaded
and the person reading the report may not read the same language, so the
message is rendered in the reader's language when it is shown.
"""

from dataclasses import dataclass, field

from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from results import codes

_TYPES = _("Upload a JPEG, PNG, WebP or TIFF image.")

MESSAGES = {
    # The file itself, before or while it is read.
    "empty": _("The file is empty (0 bytes)."),
    "too_large": _("The file is %(size_bytes)s; at most %(limit_bytes)s is accepted."),
    "pdf": _("This is a PDF. Export each page as a JPEG or PNG image and upload those."),
    "gif": _("GIF images are not accepted. %(types)s"),
    "bmp": _("BMP images are not accepted. %(types)s"),
    "zip_not_here": _("This is a zip archive. Use the bulk upload for zip files."),
    "markup": _("This is a text, HTML or SVG file, not a scanned image."),
    "not_an_image": _("This file is not a JPEG, PNG, WebP or TIFF image, or it is damaged."),
    "bomb": _("The image has too many pixels to be a scan of a form."),
    "too_many_pixels": _("The image is %(width)s × %(height)s pixels, more than the %(limit)s allowed."),
    "too_many_pixels_for_format": _(
        "The image is %(width)s × %(height)s pixels; stored like this, at most %(limit)s pixels can be read. "
        "Save it as PNG, or scan at 300 dpi."
    ),
    "pages": _("The file has %(pages)s pages. Upload each page as its own image."),
    "damaged": _("The image is damaged or truncated. Scan or photograph the page again."),
    "too_large_to_read": _("The image is too large to read, or it is damaged. Scan the page again at 300 dpi."),
    "stored_damaged": _("The stored file is damaged. Upload it again."),
    "gave_up": _("The scan could not be processed. Scan or photograph the page again."),
    # Naming: which TPS and page a bulk file is.
    "unnamed": _("The file name does not say which TPS and page it is: name it like 61.71.06.1001.001-1.jpg."),
    "extension": _("“.%(extension)s” files are not accepted: %(types)s"),
    "hidden": _("“%(name)s” is a hidden or system file (its name starts with a dot), not a scan."),
    "bad_tps_code": _("“%(code)s” is not a TPS code."),
    "no_tps": _("There is no TPS %(code)s."),
    "outside_region": _("TPS %(code)s is outside your region."),
    "outside_contest": _("TPS %(code)s is not in the region of %(contest)s."),
    "too_many_files": _("At most %(limit)s files can be sent at once: put them in zip files, or send them in parts."),
    # Zip archives.
    "zip_damaged": _("The zip file is damaged."),
    "zip_names": _("The names of the files in this zip cannot be read. Make the zip again with another program."),
    "zip_too_many": _("The zip holds %(count)s files; at most %(limit)s per upload."),
    "member_damaged": _("This file in the zip is damaged or encrypted."),
    "member_ratio": _(
        "This file would inflate %(ratio)s times, more than the %(limit)s allowed for a scan: "
        "it is not a scan, or it is an attack on the portal."
    ),
    "upload_inflated": _(
        "The zip files of this upload inflate to more than %(limit_bytes)s; this file and the rest were not "
        "unpacked. Upload them in smaller parts."
    ),
    "upload_ratio": _(
        "The zip files of this upload inflate more than %(limit)s times their size; this file and the rest "
        "were not unpacked. It is not a set of scans, or it is an attack on the portal."
    ),
    # Duplicates.
    "duplicate": _("Already uploaded as TPS %(code)s page %(page)s."),
    "filed_under": _(
        "The same image is already filed for TPS %(code)s page %(page)s. It is kept there and flagged: check "
        "which TPS this form belongs to."
    ),
    "filed_elsewhere": _(
        "The same image was already filed for another TPS. It is kept there and flagged: check which TPS "
        "this form belongs to."
    ),
}


def _bad_tps_code(params):
    """The precise complaint about a TPS code, rendered now so that it too is in the reader's language."""
    try:
        codes.normalize_station_code(params.get("code", ""))
    except codes.CodeError as error:
        return str(error)
    return str(MESSAGES["bad_tps_code"] % params)


def _shown(key, value):
    if key.endswith("_bytes"):
        return filesizeformat(value)
    if isinstance(value, int):
        return number_format(value, force_grouping=True)
    return value


@dataclass(frozen=True)
class Reason:
    """A code from MESSAGES and its parameters; str() renders it in the active language."""

    code: str
    params: dict = field(default_factory=dict)

    def __str__(self):
        if self.code == "bad_tps_code":
            return _bad_tps_code(self.params)
        template = MESSAGES.get(self.code)
        if template is None:
            return self.code
        shown = {key: _shown(key, value) for key, value in self.params.items()}
        return str(template) % {"types": _TYPES, **shown}


class Refusal(Exception):
    """Base of the exceptions that carry a Reason for the upload report."""

    def __init__(self, reason_code, /, **params):
        self.reason = Reason(reason_code, params)
        super().__init__(reason_code)

    def __str__(self):
        return str(self.reason)
