# `make reproduce`, `make test` and `make bench` set up .venv themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test bench reproduce paper package-check clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,fast,distributed]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check .
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

# Build the sdist and wheel, install the wheel alone into a fresh venv, smoke-test it.
package-check:
	PYTHON=$(PYTHON) .ci/package-check

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info .pytest_cache .hypothesis
