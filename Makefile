# `make run` starts the app, `make test` runs every test; both set up .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
TORCH_SPEC ?= torch==2.13.0

.PHONY: run serve test test-unit test-app test-e2e test-notebooks notebooks gallery bench lab clean

$(VENV)/.runtime: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# Install torch explicitly first: a bare range would pull the newest (multi-GB CUDA) build.
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install "$(TORCH_SPEC)"
	$(PY) -m pip install -r requirements.txt
	# The project itself (labkit, ntl_core, qcbnn_core), editable: notebooks and benchmarks import it from anywhere.
	$(PY) -m pip install --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install -r requirements-dev.txt
	touch $@

/usr/bin/chromium:
	# Browser tests drive Debian's chromium; Playwright's own browser download cannot work offline.
	$$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y chromium || \
	  ( $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update && $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y chromium )

run: $(VENV)/.runtime
	$(VENV)/bin/streamlit run app.py --server.port $(PORT)

# `make serve` serves a class: every network interface, class settings (.streamlit/config.toml: no tracebacks,
# 10 MB uploads, XSRF on, no top bar, no file watcher), training in worker processes; then waits for
# /_stcore/health and prints the address to give students. Caps: APP_CPU_WORKERS, APP_GPU_WORKERS,
# APP_MAX_QUEUED; APP_RAY_ADDRESS=auto trains on a Ray cluster. See docs/running_a_class.md.
HOST ?= 0.0.0.0
serve: $(VENV)/.runtime
	@$(VENV)/bin/streamlit run app.py --server.address $(HOST) --server.port $(PORT) --server.headless true \
	  & pid=$$!; trap 'kill $$pid' INT TERM; \
	if $(PY) -c "import sys, time, urllib.request as u; t = time.time() + 120; \
	exec('while True:\n try:\n  sys.exit(0 if u.urlopen(\"http://127.0.0.1:$(PORT)/_stcore/health\", timeout=2).read() == b\"ok\" else 1)\n except OSError:\n  time.sleep(1)\n  t < time.time() and sys.exit(1)')"; \
	then echo "Class server up (health: ok). Students open http://$$(hostname -I 2>/dev/null | cut -d' ' -f1 || hostname):$(PORT)"; \
	else echo "health check failed: no answer on /_stcore/health within 120 s"; kill $$pid; exit 1; fi; wait $$pid

test: $(VENV)/.dev /usr/bin/chromium
	# One torch thread per xdist worker: two workers x two threads on two cores thrash (6x slower measured).
	OMP_NUM_THREADS=1 $(PY) -m pytest tests notebooks --nbmake -n 2 --dist loadgroup

test-unit: $(VENV)/.dev
	$(PY) -m pytest tests/unit

test-app: $(VENV)/.dev
	$(PY) -m pytest tests/app

test-e2e: $(VENV)/.dev /usr/bin/chromium
	$(PY) -m pytest tests/e2e

test-notebooks: $(VENV)/.dev
	$(PY) -m pytest --nbmake notebooks

notebooks: $(VENV)/.dev /usr/bin/chromium
	# Execute every notebook and store its outputs (charts as PNG too) in the committed .ipynb.
	$(PY) notebooks/store_outputs.py

gallery: $(VENV)/.runtime
	# The training lab's prepared runs: the design search's confirmation runs as run directories (no weights).
	$(PY) benchmarks/ntl_design_search.py gallery --json docs/ntl_design_search.json --gallery gallery/ntl

lab: $(VENV)/.runtime
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf $(VENV)
