"""Which language a request is answered in."""

from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import cc_delim_re


class PortalLocaleMiddleware(LocaleMiddleware):
    """The public site takes its language from the URL: / is Indonesian, /en/ English, whatever the browser says.

    Django's LocaleMiddleware would then force Indonesian on every URL
    without a language prefix, the admin and the API included. There the
    officer's or the client's choice (cookie, Accept-Language) still holds.
    """

    NEGOTIATED = ("/admin/", "/api/")

    def process_request(self, request):
        if not request.path_info.startswith(self.NEGOTIATED):
            return super().process_request(request)
        language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request, response):
        response = super().process_response(request, response)
        if not request.path_info.startswith(self.NEGOTIATED) and response.has_header("Vary"):
            # The language is the URL's: one cached copy per page, whatever the browser sends.
            kept = [value for value in cc_delim_re.split(response["Vary"]) if value.lower() != "accept-language"]
            if kept:
                response["Vary"] = ", ".join(kept)
            else:
                del response["Vary"]
        return response
