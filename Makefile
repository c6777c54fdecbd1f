# hexfleet: `make run` starts everything, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup run test test-unit test-e2e lint bench chromium nginx clean-data

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("hexfleet needs Python 3.11+") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

## Start embedded services when the URLs are unset, migrate, seed the demo, run web + stream + worker + simulator.
run: setup
	$(BIN)/hexfleet dev

## Everything: unit + integration (real PostgreSQL, Redis, Kafka protocol), then the browser suite.
test: setup chromium test-unit test-e2e

# tests/deploy runs deploy/nginx.conf in front of the app: it needs nginx.
test-unit: setup nginx
	$(BIN)/pytest tests

# Its own pytest process: pytest-asyncio and Playwright's sync API clash in one process.
test-e2e: setup chromium
	$(BIN)/pytest e2e

chromium:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

# Debian's nginx, for tests/deploy (which runs its own on a free port). Where the package
# starts a server on port 80 (systemd hosts), it is stopped and disabled again.
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq --no-install-recommends nginx && \
	  { $(SUDO) systemctl disable --now nginx >/dev/null 2>&1 || true; }; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Ingest throughput and ping-to-stream latency against a fresh broker (needs wrk); then learned ETAs against constant speed (about a minute).
bench: setup
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk; }
	$(BIN)/hexfleet bench
	$(BIN)/python -m hexfleet.devtools.bench.eta

## Forget the embedded services' data (stop `make run` first).
clean-data:
	rm -rf .data
