#!/usr/bin/env bash
# Install what the portal needs on a fresh Debian machine: system packages,
# a virtualenv with the pinned requirements, compiled translations.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

missing=()
command -v msgfmt >/dev/null || missing+=(gettext)
command -v pg_isready >/dev/null || missing+=(postgresql-client)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
# The never-dark front (deploy/nginx.conf); the tests run it too.
command -v nginx >/dev/null || missing+=(nginx)
# Copying the snapshot to a mirror, as the README shows; the tests do it too.
command -v rsync >/dev/null || missing+=(rsync)
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
if ((${#missing[@]})); then
    echo "Installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
stamp="$VENV/.requirements"
if ! cat requirements.txt requirements-dev.txt | cmp -s - "$stamp"; then
    echo "Installing Python packages into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements-dev.txt
    cat requirements.txt requirements-dev.txt >"$stamp"
fi

DJANGO_DEBUG=1 "$VENV/bin/python" manage.py compilemessages --ignore "$VENV" --ignore var -v0
