# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint build serve system-deps clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Debian packages the browser, deployment and durability tests use; installed only when missing.
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v nginx >/dev/null 2>&1 || ! command -v strace >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing chromium, nginx and strace from Debian (used by browser, deploy and durability tests)..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium nginx-light strace >/dev/null \
	      || echo "warning: could not install chromium/nginx/strace; those tests will be skipped"; \
	  else \
	    echo "note: chromium, nginx or strace missing and not root; those tests will be skipped"; \
	  fi; \
	fi

build: $(STAMP)
	$(BIN)/hubbub build

run: $(STAMP) build
	HUBBUB_DEVELOPMENT=1 $(BIN)/hubbub serve --host 127.0.0.1 --port 8000

test: $(STAMP) system-deps lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

# Benchmarks print ratios measured side by side; they are never part of `make test`.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || true
	$(BIN)/python bench/bench_plugins.py
	$(BIN)/python bench/bench_publish.py
	$(BIN)/python bench/bench_service.py

clean:
	rm -rf output cache .pytest_cache test-artifacts dist build
