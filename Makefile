# Quick start:  make demo   |   make test
# GPU users:    make demo TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
OUT    ?= runs/demo
PY     := $(VENV)/bin/python
# The stamp names the torch spec, so a different TORCH=... reinstalls.
STAMP  := $(VENV)/.installed-$(shell printf '%s' '$(TORCH)' | cksum | cut -d' ' -f1)

.PHONY: install demo test bench clean studio test-browser browser-deps

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip >/dev/null
	$(PY) -m pip install $(TORCH)
	$(PY) -m pip install -e ".[test,studio]"
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

demo: install
	$(VENV)/bin/ganstyle demo --out $(OUT)
	@echo "Open the studio (stylise, train, browse runs in a web page): make studio  ->  http://127.0.0.1:8765/"

# The local web page; STUDIO_DIR holds its uploads, runs and results.
STUDIO_DIR ?= runs/studio
studio: install
	$(VENV)/bin/ganstyle studio --workdir $(STUDIO_DIR)

# Browser tests: Playwright's Python package driving the system Chromium (its own browser
# download is not needed). Chromium comes from apt when missing.
browser-deps: install
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "installing Chromium with apt-get"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }
	$(PY) -m pip install -e ".[browser-test]" >/dev/null

test-browser: browser-deps
	$(PY) -m pytest -q tests/studio/test_browser.py

test: install
	$(PY) -m pytest -q tests

clean:
	rm -rf runs .pytest_cache
