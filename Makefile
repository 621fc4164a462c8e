# WalletManager: `make run` serves the app, `make test` runs the suite. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install migrate demo db-stop clean

# Development commands run with DJANGO_DEBUG on unless told otherwise: without it the app refuses to
# start without DJANGO_SECRET_KEY, and seed_demo refuses to create the published demo logins.
DEV := DJANGO_DEBUG=$${DJANGO_DEBUG:-1}

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(DEV) $(BIN)/python manage.py migrate --noinput

demo: migrate
	$(DEV) $(BIN)/python manage.py seed_demo

# `make run PORT=8001` serves on another port (e.g. beside another checkout's `make run`).
PORT ?= 8000

run: demo
	$(DEV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo ""
	@echo "  WalletManager is starting on http://127.0.0.1:$(PORT)"
	@echo "    admin:    http://127.0.0.1:$(PORT)/admin/"
	@echo "    API:      http://127.0.0.1:$(PORT)/api/"
	@echo "    API docs: http://127.0.0.1:$(PORT)/api/docs/"
	@echo "    a background worker runs beside it (jobs, webhooks) and is restarted if it dies; Ctrl-C stops both"
	@echo ""
	@# One shell: the worker starts first and is stopped with the server, however the server ends. The
	@# worker rides out database restarts itself (manage.py worker); the loop around it starts a new one
	@# two seconds after it died anyway (killed, out of memory, gave up: any status but 0, which means
	@# it was asked to stop), as systemd's Restart=always does.
	@export WEBHOOK_ALLOW_PRIVATE_URLS=$${WEBHOOK_ALLOW_PRIVATE_URLS:-1}; \
	( trap 'kill -TERM $$child 2>/dev/null; wait $$child; exit 0' TERM; \
	  while :; do \
	    $(DEV) $(BIN)/python manage.py worker & child=$$!; wait $$child && break; \
	    echo "  the background worker died (exit status $$?); starting a new one in 2 s" >&2; sleep 2; \
	  done ) & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(DEV) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Lint and format check (rules in pyproject.toml); `$(BIN)/ruff format .` and `$(BIN)/ruff check --fix .` mend most of it.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# Stop the embedded PostgreSQL that `make run` leaves running (its data stays in var/).
db-stop: install
	$(DEV) $(BIN)/python -c "from pathlib import Path; from walletmanager import embedded_postgres as e; print('stopped' if e.stop(Path('var/pgdata')) else 'not running')"

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
