"""bench/public.py only: the portal's settings with a URLconf of one bare view (bench/bare_urls.py).

Everything else, the middleware above all, is kpuportal.settings as it is, so
the bare view pays the same per-request cost as the public pages, minus the
page's own work (page version query, cache read, validators).
"""

from kpuportal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare_urls"
