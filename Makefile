# Alignment: `make run` serves the site on 127.0.0.1:8000, `make test` runs lint and the whole suite.
# Both set everything up first (virtualenv in .venv, pinned requirements, migrations).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# Development: DEBUG on for the dev server, demo data and the worker (servers left unset run with it off).
export DJANGO_DEBUG ?= 1

.PHONY: run test lint format migrate demo worker hot-worker beat bench soak check-deploy clean install messages

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

# Translations: the committed locale/*/django.po compiled to .mo (pure Python, no system gettext needed).
messages: $(STAMP)
	$(PY) manage.py build_messages

install: $(STAMP) messages

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py demo_data --segments

run: demo
	@echo "Serving Alignment on http://$(HOST):$(PORT)/ with a Celery worker and beat (Ctrl-C to stop)"
	$(PY) manage.py runall $(HOST):$(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

worker: install
	$(VENV)/bin/celery -A alignment worker --loglevel=INFO

# The worker kept for the `hot` queue: a trigger's lead is judged at once, never behind a bulk scoring batch.
hot-worker: install
	$(VENV)/bin/celery -A alignment worker -Q hot --concurrency 1 -n hot@%h --loglevel=INFO

beat: install
	$(VENV)/bin/celery -A alignment beat --loglevel=INFO

bench: install  # SCALE=small for a two-minute run
	$(PY) bench/run.py

soak: install  # SOAK=small for the short run CI does
	$(PY) bench/soak.py

check-deploy: install
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-check-deploy-only-$$(date +%s)-not-a-real-secret-key-0123456789} \
		DJANGO_ALLOWED_HOSTS=alignment.example.com $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis staticfiles
