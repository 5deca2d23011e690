# gcnn-edu: `make demo` sets up and runs the main job; `make test` sets up and runs every test.
# Torch is pinned to the 2.13.0 CPU build for CI and speed; override with e.g.
#   make test TORCH='torch==2.14.1'      or      make demo TORCH=torch   (a CUDA build, several GB)
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(subst =,_,$(subst >,,$(subst <,,$(TORCH))))

.PHONY: setup demo test figures early reproduce reproduce-quick bench bench-deploy bench-peers lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

demo: setup
	$(BIN)/gcnn-edu demo

test: setup docs browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q tests
	$(BIN)/python -m pytest -q --nbval notebooks/[0-9]*.ipynb --nbval-sanitize-with notebooks/sanitize.cfg

# The student notebooks notebooks/student/ from the answered lessons (markup: tools/student_notebooks.py)
.PHONY: student
student: setup
	$(BIN)/python tools/student_notebooks.py

figures: setup
	$(BIN)/gcnn-edu figures

early: setup
	$(BIN)/gcnn-edu early --epochs 4 --threads 1 --out figures

reproduce: setup
	$(BIN)/gcnn-edu reproduce --data-axis --out runs/reproduce  # one run per CPU core (at most 8)

reproduce-quick: setup
	$(BIN)/gcnn-edu reproduce --quick --out runs/reproduce-quick

bench: setup
	$(BIN)/python benchmarks/bench_conv.py

bench-deploy: setup
	$(BIN)/python benchmarks/bench_deploy.py

# The peers (e2cnn, and GrouPy's PyTorch port where GROUPY_SRC names a checkout of it) in their own
# environment: e2cnn needs numpy<2. gcnn-edu runs from this checkout (PYTHONPATH), not installed.
PEERS := .venv-peers
PEERS_STAMP := $(PEERS)/.installed-$(subst =,_,$(subst >,,$(subst <,,$(TORCH))))

$(PEERS_STAMP):
	test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS)/bin/python -m pip install --quiet "$(TORCH)" "numpy<2" e2cnn
	rm -f $(PEERS)/.installed-* && touch $@

bench-peers: $(PEERS_STAMP)
	PYTHONPATH=$(CURDIR) $(PEERS)/bin/python benchmarks/bench_peers.py

# The lessons website: site/ (open site/index.html), built strictly: a broken link, a missing image or an
# unresolved API reference fails it. `make test` builds it and tests it in headless Chromium (tests/test_site.py).
.PHONY: docs browser
docs: setup
	$(BIN)/python docs/site/build.py

# Debian's chromium and its chromedriver for the browser test, installed only when missing (needs root).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else echo "make: no chromium/chromedriver and not root, so tests/test_site.py will skip;" \
	  "install them with: sudo apt-get install -y chromium chromium-driver" >&2; fi

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(PEERS) .pytest_cache .ruff_cache .hypothesis
