# The two commands a new user needs: `make run` and `make test`. Both set up everything first.
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config.example.yaml

CHROMIUM := /usr/bin/chromium

.PHONY: run test bench clean browser systemd-analyze

$(BIN)/ocrwatch: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/ocrwatch
	mkdir -p inbox
	$(BIN)/ocrwatch run --config $(CONFIG)

# The browser test drives Debian's chromium; Playwright's own browser downloads are never used.
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else echo "note: the browser test needs Debian's chromium: sudo apt-get install chromium chromium-driver"; fi

# The tests run `systemd-analyze verify` on the unit: Debian's systemd package provides it.
systemd-analyze:
	@command -v systemd-analyze >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd; }

test: $(BIN)/ocrwatch browser systemd-analyze
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: $(BIN)/ocrwatch
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/speed.py
	$(BIN)/python bench/daemon.py

clean:
	rm -rf $(VENV) .pytest_cache
