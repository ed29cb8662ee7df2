# The two commands of the README: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/kpuportal
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# A clean environment: embedded defaults unless a variable below says otherwise.
CLEAN_ENV := env -i PATH="$(PATH)" HOME="$(HOME)" LANG=C.UTF-8 TERM="$(TERM)"
TEST_ENV := $(CLEAN_ENV) DJANGO_SECRET_KEY=tests-only-not-a-secret KPU_LOG_LEVEL=WARNING
# Each pass runs in a temp dir of its own: the data dir, pytest's tmp_path and
# anything else written to TMPDIR. It is removed when the pass ends, passed,
# failed or interrupted; the pass's exit status is kept.
IN_RUN_DIR = run=$$(mktemp -d -t kpu-test-XXXXXX) && mkdir "$$run/tmp" \
	&& trap 'rm -rf "$$run"' EXIT && trap 'rm -rf "$$run"; exit 130' INT TERM &&
RUN_ENV = $(TEST_ENV) TMPDIR="$$run/tmp" KPU_DATA_DIR="$$run/data"
PYTEST = $(PY) -m pytest --basetemp="$$run/pytest"
# A free port for the worker tests' own redis-server (one they can stop and start).
FREE_PORT = $$($(PY) -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

.PHONY: install demo test services

install:
	@deploy/install.sh

## The portal with demo data on the embedded defaults (SQLite, local files, eager tasks).
demo: install
	@$(CLEAN_ENV) DJANGO_DEBUG=1 $(PY) manage.py migrate -v0
	@$(CLEAN_ENV) DJANGO_DEBUG=1 $(PY) manage.py seed_demo --accounts
	@echo
	@echo "  KPU results portal, public site: http://$(HOST):$(PORT)/  (English: http://$(HOST):$(PORT)/en/)"
	@echo "  Admin for officers:              http://$(HOST):$(PORT)/admin/"
	@echo "  Log in as admin / kpu-demo-admin, or officer-pontianak (-2, -3) / kpu-demo-officer."
	@echo
	@$(CLEAN_ENV) DJANGO_DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

services:
	@deploy/services.sh

## The whole test suite: once on the embedded defaults, once on PostgreSQL + Redis + a real worker.
test: install services
	@echo "== Lint (ruff): style and unused code."
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
	@echo "== Pass 1 of 2: embedded defaults (SQLite, local files, in-process cache, eager tasks)."
	@echo "== Tests marked 'worker' or 'postgres' need PostgreSQL and run in pass 2 only;"
	@echo "== 'corpus' (Pillow's test images through the upload path) runs in pass 1 only."
	@$(IN_RUN_DIR) $(RUN_ENV) $(PYTEST) -m "not worker and not postgres" $(PYTEST_ARGS)
	@echo "== Pass 2 of 2: PostgreSQL, Redis cache, real Celery worker processes on a Redis broker."
	@$(IN_RUN_DIR) $(RUN_ENV) DATABASE_URL=$(PG_URL) REDIS_URL=$(TEST_REDIS_URL) \
		CELERY_BROKER_URL=redis://127.0.0.1:$(FREE_PORT)/0 CELERY_TASK_ALWAYS_EAGER=1 $(PYTEST) -m "not corpus and not browser" $(PYTEST_ARGS)
