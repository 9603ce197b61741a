# The two commands a new user needs: `make run` and `make test`. Both set up everything first.
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config.example.yaml

.PHONY: run test lint bench clean

$(BIN)/ocrwatch: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/ocrwatch
	mkdir -p inbox
	$(BIN)/ocrwatch run --config $(CONFIG)

# The tests run `systemd-analyze verify` on the unit: Debian's systemd package provides it.
test: $(BIN)/ocrwatch
	command -v systemd-analyze >/dev/null || { apt-get update && apt-get install -y --no-install-recommends systemd; }
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: $(BIN)/ocrwatch
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/speed.py
	$(BIN)/python bench/daemon.py

clean:
	rm -rf $(VENV) .pytest_cache
