"""Settings for the KPU results portal.

Everything comes from the environment. With nothing set the portal runs on
embedded defaults (SQLite, local files, an in-process cache, Celery tasks run
eagerly) so a newcomer's first command just works; `DATABASE_URL`,
`REDIS_URL` and the `AWS_*` storage variables switch to the real services.
`.env.example` lists every variable.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    """A strict boolean: a typo such as DJANGO_DEBUG=ture is an error, not False."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected one of 1/0, true/false, yes/no, on/off")


def env_int(name, default):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a whole number") from None


def env_list(name, default=()):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "ninja",
    "results",
    "uploads",
    "snapshot",
    "backups",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "kpuportal.middleware.PortalLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost: it sees a view's database error before anything turns it into a 500.
    "snapshot.middleware.SnapshotFallbackMiddleware",
]

ROOT_URLCONF = "kpuportal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "kpuportal.wsgi.application"

DATA_DIR = Path(env_str("KPU_DATA_DIR", str(BASE_DIR / "var")))
PRODUCTION = env_bool("KPU_PRODUCTION", False)


def installation_secret_key(path):
    """The key of this installation, made once and kept beside its SQLite file.

    Lets the embedded defaults run with nothing set without a fixed key in the
    code; every process of one installation reads the same key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        key = get_random_secret_key()
        handle.write(key)
    return key


SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is not set; production (KPU_PRODUCTION=1) needs it.")
    SECRET_KEY = installation_secret_key(DATA_DIR / "secret_key")

DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
USING_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if USING_POSTGRES:
    # A database that hangs must fail fast: public pages then come from the snapshot.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 3))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "kpu"),
            # A dead Redis costs a page its cache for half a second, never the page.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# How long a process may answer a public page under the data version it last looked up (s).
PAGE_VERSION_MEMO_SECONDS = env_int("KPU_PAGE_VERSION_MEMO_SECONDS", 1)

# The API is read-only and public: any site may read it from a browser.
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_EXPOSE_HEADERS = ["ETag", "Last-Modified", "X-Contest-Head"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The public reads Indonesian first, English second.
LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Indonesian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# Kalimantan Barat, the demo region, is on WIB; times are stored in UTC.
TIME_ZONE = env_str("KPU_TIME_ZONE", "Asia/Pontianak")
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = env_str("KPU_MEDIA_URL", "/media/")
MEDIA_ROOT = Path(env_str("KPU_MEDIA_ROOT", str(DATA_DIR / "media")))

# Two stores for scans. "default" holds the public renditions (metadata-free,
# content-addressed), served by a web server or the bucket directly. "private"
# holds the raw uploads exactly as they arrived, which may carry an officer's
# GPS position: never public, staff read them through an authorised view.
# Local directories by default; S3-compatible buckets when
# AWS_STORAGE_BUCKET_NAME is set (and then AWS_PRIVATE_BUCKET_NAME too).
PRIVATE_ROOT = Path(env_str("KPU_PRIVATE_ROOT", str(DATA_DIR / "private")))
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
AWS_PRIVATE_BUCKET_NAME = env_str("AWS_PRIVATE_BUCKET_NAME")
if AWS_STORAGE_BUCKET_NAME:
    if not AWS_PRIVATE_BUCKET_NAME or AWS_PRIVATE_BUCKET_NAME == AWS_STORAGE_BUCKET_NAME:
        raise ImproperlyConfigured("AWS_PRIVATE_BUCKET_NAME must name a second, non-public bucket for the raw uploads.")
    _s3 = {
        "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
        "region_name": env_str("AWS_S3_REGION_NAME") or None,
        "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
        "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
        # Content-addressed names: an existing object is the same bytes, never replaced.
        "file_overwrite": False,
    }
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_s3,
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "custom_domain": env_str("AWS_S3_CUSTOM_DOMAIN") or None,
            "querystring_auth": False,
        },
    }
    _private_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_s3,
            "bucket_name": AWS_PRIVATE_BUCKET_NAME,
            "default_acl": "private",
            # Staff get a signed URL that expires quickly.
            "querystring_auth": True,
            "querystring_expire": 300,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    _private_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # No base_url: nothing maps these files to a URL.
        "OPTIONS": {"location": PRIVATE_ROOT, "base_url": None},
    }

STORAGES = {
    "default": _default_storage,
    "private": _private_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# The static snapshot of the public site (snapshot/services.py): generations
# under this directory, `current` pointing to the one nginx falls back to.
SNAPSHOT_ROOT = Path(env_str("KPU_SNAPSHOT_ROOT", str(DATA_DIR / "snapshot")))
# Readiness reports "degraded" when the current snapshot is older than this.
SNAPSHOT_MAX_AGE_SECONDS = env_int("KPU_SNAPSHOT_MAX_AGE_SECONDS", 300)
# Processes that render a build on PostgreSQL; 0: one per core.
SNAPSHOT_PROCESSES = env_int("KPU_SNAPSHOT_PROCESSES", 0)
# A build writes only what differs from the last full snapshot (its base); once that grows past
# this percent of the base's files, the build writes a full snapshot again, the next base.
SNAPSHOT_COMPACT_PERCENT = env_int("KPU_SNAPSHOT_COMPACT_PERCENT", 10)
# The Ed25519 key that signs each snapshot's manifest; made once outside production.
SNAPSHOT_KEY_FILE = Path(env_str("KPU_SNAPSHOT_KEY_FILE", str(DATA_DIR / "snapshot_ed25519.pem")))
# A copy of the current snapshot in a bucket, published after each build
# (snapshot_publish), so a static host or CDN serves the site with no origin at
# all; the same S3 endpoint and keys as the scans. Unset: the local directory is the only store.
SNAPSHOT_BUCKET = env_str("KPU_SNAPSHOT_BUCKET")
if SNAPSHOT_BUCKET:
    _snapshot_page = {"CacheControl": "public, max-age=60"}  # the same names, new numbers every minute
    STORAGES["snapshot"] = {
        "BACKEND": "snapshot.storage.SnapshotStorage",
        "OPTIONS": {
            "bucket_name": SNAPSHOT_BUCKET,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            # Readable by anyone, as a website bucket must be. Empty for a bucket with ACLs
            # disabled (AWS's default) that a bucket policy makes public: it refuses any ACL.
            "default_acl": env_str("KPU_SNAPSHOT_ACL", "public-read") or None,
            "querystring_auth": False,
            "file_overwrite": True,  # a page keeps its name when its numbers change
            # static/ (collectstatic's hashed names) and media/ (content-addressed scans): a name never changes.
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
            "parameters_by_suffix": {
                ".html": {**_snapshot_page, "ContentType": "text/html; charset=utf-8"},
                ".json": {**_snapshot_page, "ContentType": "application/json"},
                ".csv": {**_snapshot_page, "ContentType": "text/csv; charset=utf-8"},
                # The manifest's signature and the public key, readable in a browser.
                ".sig": {**_snapshot_page, "ContentType": "text/plain; charset=utf-8"},
                ".pem": {**_snapshot_page, "ContentType": "text/plain; charset=utf-8"},
                ".css": {"ContentType": "text/css; charset=utf-8"},
                ".js": {"ContentType": "text/javascript; charset=utf-8"},
                ".jpg": {"ContentType": "image/jpeg"},
            },
        },
    }
# Backups (backups/services.py): one directory per backup, named by its UTC time;
# the periodic task keeps the newest KPU_BACKUP_KEEP.
BACKUP_DIR = Path(env_str("KPU_BACKUP_DIR", str(DATA_DIR / "backups")))
BACKUP_KEEP = env_int("KPU_BACKUP_KEEP", 14)

# Behind nginx, raw files are handed over with X-Accel-Redirect to this
# internal location (e.g. /_private/, aliased to KPU_PRIVATE_ROOT) instead of
# streaming through Django. Empty: Django streams them itself.
PRIVATE_ACCEL_REDIRECT_PREFIX = env_str("KPU_PRIVATE_ACCEL_REDIRECT_PREFIX")


# Upload limits: a scan larger than these is rejected with a reason, never opened.
SCAN_MAX_BYTES = env_int("KPU_SCAN_MAX_BYTES", 40 * 1024 * 1024)
SCAN_MAX_PIXELS = env_int("KPU_SCAN_MAX_PIXELS", 36_000_000)  # 600 dpi A4 (4961 x 7016) fits; decoded: 144 MB
# A bulk upload may be a zip of a whole district's forms.
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("KPU_UPLOAD_MAX_FILES", 500)
# Larger uploaded files go to a temporary file, never whole into memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Zip archives: their own size, how many files, and how far they may inflate.
# A scan does not compress much (JPEG, PNG) or compresses a few dozen times
# (an uncompressed TIFF of a white page); 40 MB of zeros compress 1000 times.
ZIP_MAX_BYTES = env_int("KPU_ZIP_MAX_BYTES", 1024 * 1024 * 1024)
ZIP_MAX_MEMBERS = env_int("KPU_ZIP_MAX_MEMBERS", 2000)
ZIP_MEMBER_MAX_RATIO = env_int("KPU_ZIP_MEMBER_MAX_RATIO", 100)
UPLOAD_MAX_RATIO = env_int("KPU_UPLOAD_MAX_RATIO", 50)
UPLOAD_MAX_INFLATED_BYTES = env_int("KPU_UPLOAD_MAX_INFLATED_BYTES", 2 * 1024 * 1024 * 1024)
# Scans left in received/processing longer than this are re-queued by the sweeper.
SCAN_STALE_AFTER_SECONDS = env_int("KPU_SCAN_STALE_AFTER_SECONDS", 300)

# Celery: eager without a broker so the embedded defaults need no service.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A child that peaked above 300 MB (any scan fits below) is replaced after its task; a stuck task is stopped.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 300_000)  # KiB
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 90)
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must fail fast when the broker is down or hangs: an upload is
# already durable and the sweeper queues it again later, so a request never
# waits on the broker for more than about these timeouts.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-scans": {
        "task": "uploads.tasks.sweep_scans",
        "schedule": env_int("KPU_SWEEP_EVERY_SECONDS", 60),
    },
    "record-contest-heads": {
        "task": "results.tasks.record_heads",
        "schedule": env_int("KPU_HEADS_EVERY_SECONDS", 60),
    },
    # Keeps the static snapshot at most a minute behind; a build skips while another runs.
    "refresh-snapshot": {
        "task": "snapshot.tasks.refresh_snapshot",
        "schedule": env_int("KPU_SNAPSHOT_EVERY_SECONDS", 60),
    },
    # Recomputes everything from the TPS: drift should never happen, so rarely is enough.
    "check-integrity": {
        "task": "results.tasks.check_integrity",
        "schedule": env_int("KPU_INTEGRITY_EVERY_SECONDS", 3600),
    },
    # A backup of the database, then only the newest KPU_BACKUP_KEEP kept.
    "backup": {
        "task": "backups.tasks.make_backup",
        "schedule": env_int("KPU_BACKUP_EVERY_SECONDS", 24 * 3600),
    },
}

# One handler, on the root logger. Django's defaults give the "django" logger a
# console handler of its own (printing in DEBUG) and still propagate to the
# root: every Django line came out twice. Here its records, and runserver's
# request lines, go to the root handler only.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"timed": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "timed"}},
    "root": {"handlers": ["console"], "level": env_str("KPU_LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
    },
}

# Production: HTTPS behind a proxy. Passes `manage.py check --deploy` when
# DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS are given.
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("KPU_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("KPU_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if DEBUG:
        raise ImproperlyConfigured("KPU_PRODUCTION=1 cannot run with DJANGO_DEBUG=1.")
