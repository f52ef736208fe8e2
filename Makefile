# Two entry points for users (README "Quick start"): `make train` and `make test`.
# The venv is created and the package installed on first use; later calls reuse it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install train test lint bench clean params

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,tracking,text,audio,voxels]'
	@# Fashion-MNIST without a download: Debian's package (best effort; root + apt only).
	@test -d /usr/share/datasets/fashion-mnist || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1)) \
		|| echo "note: Fashion-MNIST package not installed; data=fashion_mnist will download it"; }
	@# The speech synthesisers of data=spoken_digits (best effort; root + apt only).
	@{ command -v espeak-ng >/dev/null && command -v flite >/dev/null; } || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get install -y -qq espeak-ng flite >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq espeak-ng flite >/dev/null 2>&1)) \
		|| echo "note: espeak-ng/flite not installed; data=spoken_digits cannot be synthesised (apt-get install espeak-ng flite)"; }
	@# Headless Chromium for the test of the offline `dvc plots show` page (best effort; root + apt only).
	@command -v chromium >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get install -y -qq chromium >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1)) \
		|| echo "note: chromium not installed; tests/test_dvc_plots_page.py skips its rendering check"; }
	touch $(STAMP)

install: $(STAMP)

train: $(STAMP)
	$(BIN)/ganforge-train $(ARGS)

# Two pytest workers (pytest-xdist) by default: most tests start CLIs whose imports are single-threaded,
# so two workers on two cores roughly halve the wall time. `make test TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts && $(BIN)/ruff format --check src tests scripts

bench: $(STAMP)
	$(BIN)/python scripts/bench_throughput.py

# params.yaml = conf/pipeline.yaml composed exactly as `dvc exp run` composes it (commit the result).
params: $(STAMP)
	$(BIN)/python -c "from dvc.utils.hydra import compose_and_dump as c; c('params.yaml', '$(CURDIR)/conf', None, 'pipeline', '$(CURDIR)', [])"

clean:
	rm -rf $(VENV) outputs
