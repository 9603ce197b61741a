# The two commands a new user needs: `make run` and `make test`. Both set up everything first.
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config.example.yaml

CHROMIUM := /usr/bin/chromium

.PHONY: run test lint bench clean browser

$(BIN)/ocrwatch: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/ocrwatch
	mkdir -p inbox
	$(BIN)/ocrwatch scan inbox --config $(CONFIG)

# The browser test drives Debian's chromium; Playwright's own browser downloads are never used.
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else echo "note: the browser test needs Debian's chromium: sudo apt-get install chromium chromium-driver"; fi

test: $(BIN)/ocrwatch browser
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: $(BIN)/ocrwatch
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/speed.py

clean:
	rm -rf $(VENV) .pytest_cache
