# The two commands a newcomer needs:
#   make run    install everything, migrate a local SQLite database, load demo data, serve http://127.0.0.1:8000/admin/
#               (with the webhook dispatcher, manage.py deliver_events --loop, running beside it)
#   make test   install everything and run every check (ruff, import-linter, Django) and test, on SQLite and on PostgreSQL
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run install browser test lint check test-sqlite test-postgres bench clean

$(VENV)/.installed: requirements.txt requirements-lambda.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# The webhook dispatcher (deliver_events --loop) runs beside the server; it is stopped by its PID when the server exits.
run: install
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 $(PY) manage.py seed_demo
	@echo "Open http://$(HOST):$(PORT)/admin/ and log in as admin / admin"
	DJANGO_DEBUG=1 $(PY) manage.py deliver_events --loop & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; DJANGO_DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

# Debian's Chromium for the browser tests (never a browser downloaded by a tool), and a CJK font for the Japanese pages.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@fc-list 2>/dev/null | grep -qi ipa || { \
		echo "Installing fonts-ipafont-gothic for the Japanese pages"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq fonts-ipafont-gothic >/dev/null; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

check: install
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py check
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py makemigrations --check --dry-run

test-sqlite: install browser
	@echo "== SQLite pass"
	env -u DATABASE_URL $(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-postgres: install browser
	$(PY) tests/with_postgres.py $(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test: lint check test-sqlite test-postgres

bench: install
	$(PY) bench/allocate.py

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache
