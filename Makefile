# poolgate: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := demo_out

.PHONY: install demo test fuzz bench lint clean

# setuptools warns at every editable install that folders named like the packages may shadow them;
# here those folders are the packages, so the warning is silenced for that one command
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	PYTHONWARNINGS='ignore:Editable installation' $(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PYTHON=$(BIN)/python bash scripts/demo.sh $(DEMO)

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

# property-based tests at 1,000 generated tapes per property (make test runs a bounded profile)
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q tests/features/test_properties.py

bench: $(STAMP)
	$(BIN)/python -m bench.run

lint: $(STAMP)
	$(BIN)/ruff check features models training scoring reports assessment monitoring poolgate bench tests
	$(BIN)/mypy features models training scoring reports assessment monitoring poolgate bench

clean:
	rm -rf $(VENV) $(DEMO) bench_out .pytest_cache
