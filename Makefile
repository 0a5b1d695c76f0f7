# `make reproduce`, `make test` and `make bench` set up .venv themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test bench reproduce paper package-check docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,fast,distributed]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy src/
	$(PY) -m pytest

# Quick grids; results, figures and the reproduction report in experiments/results/quick/
# (git-ignored), compared with the paper's committed results in paper/results/.
reproduce: $(STAMP)
	MPLBACKEND=Agg $(PY) -m dualtape.harness reproduce --quick

# paper/paper.md from paper/paper.template.md and paper/results/; the PDF where pandoc
# (with citeproc; Debian: apt-get install pandoc weasyprint) is installed.
paper: $(STAMP)
	$(PY) paper/render.py
	@if command -v pandoc >/dev/null 2>&1; then \
	  engine=$$(command -v weasyprint >/dev/null 2>&1 && echo --pdf-engine=weasyprint); \
	  cd paper && pandoc paper.md --citeproc --bibliography=paper.bib --standalone \
	    --css=paper.css $$engine -o paper.pdf && echo "wrote paper/paper.pdf"; \
	else echo "pandoc is not installed: rendered paper/paper.md only (no PDF)"; fi

# The documentation site in docs/_build/html (warnings are errors); no network needed.
DOCS_STAMP := $(VENV)/.installed-docs
$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(PY) -m sphinx -b html -E -W --keep-going -q docs docs/_build/html
	@echo "wrote docs/_build/html/index.html"

# Build the sdist and wheel, install the wheel alone into a fresh venv, smoke-test it.
package-check:
	PYTHON=$(PYTHON) .ci/package-check

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build dist docs/_build *.egg-info src/*.egg-info .pytest_cache .hypothesis
