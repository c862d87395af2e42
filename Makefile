# Quick start:  make demo   |   make test
# GPU users:    make demo TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
OUT    ?= runs/demo
PY     := $(VENV)/bin/python
# The stamp names the torch spec, so a different TORCH=... reinstalls.
STAMP  := $(VENV)/.installed-$(shell printf '%s' '$(TORCH)' | cksum | cut -d' ' -f1)

.PHONY: install demo test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip >/dev/null
	$(PY) -m pip install $(TORCH)
	$(PY) -m pip install -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

demo: install
	$(VENV)/bin/ganstyle demo --out $(OUT)

test: install
	$(PY) -m pytest -q tests

clean:
	rm -rf runs .pytest_cache
