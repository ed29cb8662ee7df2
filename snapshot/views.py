from django.http import HttpResponse

from .signing import public_key_pem


def public_key(request):
    """The key that signs every snapshot's manifest: what a mirror is checked against."""
    return HttpResponse(public_key_pem(), content_type="text/plain; charset=utf-8")
