# The two commands a new user needs: `make run` and `make test`. Both set up everything first.
VENV ?= .venv
BIN := $(VENV)/bin
# keras-ocr needs TensorFlow 2.15 and NumPy 1: it lives in a venv of its own, for its tests.
KERAS_VENV ?= .venv-keras
KERAS_BIN := $(KERAS_VENV)/bin
CONFIG ?= config.example.yaml
# The Tesseract engine: the program's library and language packs from Debian, and what tesserocr
# needs to build against them.
TESSERACT_DEBS := tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu libtesseract-dev libleptonica-dev pkg-config \
  fonts-dejavu-core

# pdftotext reads the searchable PDF's text layer back in the tests; a CJK font renders the test page
# of Chinese that the auto engine must hand to RapidOCR; the index's tests start a PostgreSQL server of
# their own (initdb, pg_ctl), whose full-text search needs contrib's unaccent.
TEST_DEBS := poppler-utils fonts-wqy-microhei postgresql postgresql-contrib

CHROMIUM := /usr/bin/chromium

.PHONY: run test test-keras bench clean debian-packages browser systemd-analyze

$(BIN)/ocrwatch: pyproject.toml
	$(MAKE) debian-packages
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	PIP_NO_BINARY=tesserocr $(BIN)/python -m pip install --quiet -e '.[test,tesseract]'
	touch $@

# Tesseract too, so that one benchmark run (bench/accuracy.py) can measure every engine.
$(KERAS_BIN)/ocrwatch: pyproject.toml
	$(MAKE) debian-packages
	python3 -m venv $(KERAS_VENV)
	$(KERAS_BIN)/python -m pip install --quiet --upgrade pip
	PIP_NO_BINARY=tesserocr $(KERAS_BIN)/python -m pip install --quiet -e '.[test,tesseract,keras,keras-test]'
	touch $@

debian-packages:
	@dpkg -s $(TESSERACT_DEBS) $(TEST_DEBS) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q $(TESSERACT_DEBS) $(TEST_DEBS); \
	  else echo "ocrwatch needs: sudo apt-get install $(TESSERACT_DEBS) $(TEST_DEBS)"; exit 1; fi; }

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

test: $(BIN)/ocrwatch browser systemd-analyze test-keras
	$(BIN)/ruff check .
	$(BIN)/pytest

# The keras-ocr engine's tests (the engine contract and its weights), in its own venv.
test-keras: $(KERAS_BIN)/ocrwatch
	$(KERAS_BIN)/pytest -k keras tests/test_engines.py tests/test_engines_keras.py

bench: $(BIN)/ocrwatch
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/accuracy.py --engine rapidocr-defaults --engine rapidocr --engine tesseract
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/throughput.py --engine rapidocr-defaults --engine rapidocr --engine tesseract --threads 1
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/rotation.py
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/speed.py
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/daemon.py

clean:
	rm -rf $(VENV) $(KERAS_VENV) .pytest_cache
