"""bench/public.py only: one view returning fixed bytes, read once from $BENCH_BARE_BODY."""

import os
from pathlib import Path

from django.http import HttpResponse
from django.urls import path

BODY = Path(os.environ["BENCH_BARE_BODY"]).read_bytes()


def bare(request):
    return HttpResponse(BODY, content_type="text/html; charset=utf-8")


urlpatterns = [path("", bare)]
