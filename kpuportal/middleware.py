"""Which language a request is answered in."""

from django.middleware.locale import LocaleMiddleware
from django.utils import translation


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
