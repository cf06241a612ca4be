# Two entry points on a fresh machine: `make run` (set up + dvc repro) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt constraints.txt | cksum | cut -d' ' -f1)
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup run test bench compare-all clean-venv

$(STAMP): requirements.txt constraints.txt
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 9) <= v <= (3, 12) else "Python 3.9-3.12 is needed (mediapipe 0.10.21 has no wheels for %d.%d); set PYTHON=python3.11" % v)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt -c constraints.txt
	rm -f $(VENV)/.installed-*
	touch $@

# the offline page template of `dvc plots show` (.dvc/config plots.html_template): scripts from npm, pinned
PLOTS_PAGE := .dvc/plots/offline.html
$(PLOTS_PAGE): $(STAMP) src/reporting/plots_page.py
	$(BIN)/python -m src.reporting.plots_page

setup: $(STAMP) $(PLOTS_PAGE)

run: setup
	dvc repro

test: setup
	python -m pytest

# DVC's matrix needs a list: pass every registered model as compare.models
compare-all: setup
	dvc exp run -S "compare.models=$$(python -m src.models.registry)"

bench: setup
	python -m benchmarks.bench_frames
	python -m benchmarks.bench_pose
	python -m benchmarks.bench_models
	python -m benchmarks.learnability

clean-venv:
	rm -rf $(VENV)
