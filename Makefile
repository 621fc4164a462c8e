# WalletManager: `make run` serves the app, `make test` runs the suite. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install migrate demo db-stop clean

# `make run PORT=8001` serves elsewhere.
PORT ?= 8000
# The development settings, written once to .env in the checkout: manage.py (walletmanager/settings.py
# reads the file), the worker and a shell then run as `make run` does, also when typed by hand. Without
# DJANGO_DEBUG the app refuses to start without DJANGO_SECRET_KEY, and seed_demo refuses to create the
# published demo logins. Variables set in the environment win over the file; delete it to have it rewritten.
DEV_SETTINGS := .env

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

$(DEV_SETTINGS):
	@printf '%s\n' \
	  '# Development settings, written by `make run` (delete this file to have it written again).' \
	  '# manage.py, the worker and a shell read it; a variable set in the environment wins.' \
	  '# Never use these in production: see docs/configuration.md.' \
	  'DJANGO_DEBUG=1' \
	  '# The worker delivers webhooks to receivers on this machine (http://127.0.0.1:...).' \
	  'WEBHOOK_ALLOW_PRIVATE_URLS=1' > $@
	@echo "wrote the development settings to $@"

migrate: install $(DEV_SETTINGS)
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

run: demo
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
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
	@# it was asked to stop), as systemd's Restart=always does. Both read the development settings in .env.
	@( trap 'kill -TERM $$child 2>/dev/null; wait $$child; exit 0' TERM; \
	  while :; do \
	    $(BIN)/python manage.py worker & child=$$!; wait $$child && break; \
	    echo "  the background worker died (exit status $$?); starting a new one in 2 s" >&2; sleep 2; \
	  done ) & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Lint and format check (rules in pyproject.toml); `$(BIN)/ruff format .` and `$(BIN)/ruff check --fix .` mend most of it.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# Stop the embedded PostgreSQL that `make run` leaves running (its data stays in var/).
db-stop: install $(DEV_SETTINGS)
	$(BIN)/python -c "from pathlib import Path; from walletmanager import embedded_postgres as e; print('stopped' if e.stop(Path('var/pgdata')) else 'not running')"

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
