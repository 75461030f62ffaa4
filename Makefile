# Every target installs what it needs: a Python venv (.venv) and Toxiproxy v2.12.0 (.tools/bin).
PYTHON ?= python3
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools/bin
TOXIPROXY := $(TOOLS)/toxiproxy-server
TOXIPROXY_VERSION := v2.12.0
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

K8S_BIN := .tools/k8s/bin

.PHONY: setup demo test test-slow lint bench bench-accuracy clean k8s-tools

# tmux: the e2e tests read chaosrun's output off a real 80-column terminal (tests/e2e/terminal.py);
# haproxy: the external target the lab does not contain (tests/e2e/external.py, bench-accuracy);
# redis-server, redis-sentinel: the lab's database and its failover (chaosrun/lab/database.py);
# chromium: the HTML reports are loaded in a real headless browser (tests/e2e/browser.py);
# prometheus: error-budget admission reads burn rates from a real one (tests/integration).
setup: $(STAMP) $(TOXIPROXY)
	command -v tmux >/dev/null && command -v haproxy >/dev/null && \
		command -v redis-server >/dev/null && command -v redis-sentinel >/dev/null && \
		command -v chromium >/dev/null && command -v prometheus >/dev/null || \
		(apt-get update && apt-get install -y tmux haproxy \
			redis-server redis-sentinel chromium prometheus)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Built once per machine into a cache outside the clone (a fresh clone copies it; delete the
# cache directory to rebuild).
CHAOSRUN_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/chaosrun
TOXIPROXY_CACHE ?= $(CHAOSRUN_CACHE)/toxiproxy-$(TOXIPROXY_VERSION)
$(TOXIPROXY):
	mkdir -p $(TOOLS)
	if [ ! -x "$(TOXIPROXY_CACHE)/server" ]; then \
		test -x "$(GO)" || { echo "Go is needed to build toxiproxy-server (https://go.dev/dl) - or set TOXIPROXY_SERVER"; exit 3; }; \
		mkdir -p "$(TOXIPROXY_CACHE)" && \
		GOBIN="$(TOXIPROXY_CACHE)" $(GO) install github.com/Shopify/toxiproxy/v2/cmd/server@$(TOXIPROXY_VERSION); \
	fi
	cp "$(TOXIPROXY_CACHE)/server" $(TOXIPROXY)

# The k8s lab profile's control plane -- etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler (v1.37.2) and kwok (v0.8.0) -- built from the Go module proxy once per machine
# (~12 min on 2 cores) into ~/.cache/chaosrun/k8s-<hash of k8s/build>; .tools/k8s points at it.
k8s-tools:
	bash k8s/build.sh .tools/k8s

demo: setup
	$(BIN)/chaosrun run experiments/latency-injection.yaml

# mypy's cache lives outside the clone too: a fresh clone checks in ~1 s instead of ~15 s.
lint: setup
	$(BIN)/ruff check chaosrun tests bench
	$(BIN)/ruff format --check chaosrun tests bench
	$(BIN)/mypy --cache-dir "$(CHAOSRUN_CACHE)/mypy"

# Fast and parallel first; then the load-driven verdict matrix one experiment at a time, since
# measured latencies on a 2-core box must not depend on what the other worker is doing.
TEST_ENV = TOXIPROXY_SERVER=$(abspath $(TOXIPROXY)) CHAOSRUN_K8S_BIN=$(abspath $(K8S_BIN))
test: setup lint k8s-tools
	$(TEST_ENV) $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -q -m "not slow and not matrix" --durations=15
	$(TEST_ENV) $(BIN)/pytest -q -m "matrix and not slow" --durations=15

test-slow: setup k8s-tools
	$(TEST_ENV) $(BIN)/pytest -q -m slow

# Mutation testing (mutmut) of the pure measurement and verdict modules (chaosrun/measure/,
# chaosrun/checks/, chaosrun/record/) against the fast unit tests; not part of `make test` (about 8 min on
# 2 cores). Configuration: [tool.mutmut] in pyproject.toml. Every
# run starts afresh (mutmut's cache would not retest survivors after a test changed); progress
# goes to mutants/run.log, then a per-module table and the mutants not killed are printed.
# tests/unit/MUTATION.md records the figures and why each remaining survivor is equivalent.
.PHONY: mutation
MUTATION_WORKERS ?= $(PYTEST_WORKERS)
mutation: setup
	rm -rf mutants && mkdir mutants
	@start=$$(date +%s); \
	if ! $(BIN)/mutmut run --max-children $(MUTATION_WORKERS) > mutants/run.log 2>&1; then \
		tail -c 4000 mutants/run.log; echo; echo "mutmut run failed (log: mutants/run.log)"; exit 1; \
	fi; \
	$(BIN)/python tests/mutation_summary.py && \
	echo "make mutation: $$(( $$(date +%s) - start )) s of mutmut (log: mutants/run.log)"

bench: setup k8s-tools bench-accuracy
	$(TEST_ENV) $(BIN)/python bench/run.py
	TOXIPROXY_SERVER=$(abspath $(TOXIPROXY)) $(BIN)/python bench/load.py
	$(TEST_ENV) $(BIN)/python bench/safety.py
	TOXIPROXY_SERVER=$(abspath $(TOXIPROXY)) $(BIN)/python bench/suite.py --also 2
	$(BIN)/python bench/recorder.py

# Reported ttd/rto/recovery-after-clear vs ground-truth outages (lab + HAProxy in front of two
# backends), ~12 min; ACCURACY_ARGS=--quick for ~4 min. HAProxy comes from the distribution.
ACCURACY_JSON ?= .tools/bench/accuracy.json
ACCURACY_ARGS ?=
bench-accuracy: setup
	command -v haproxy >/dev/null || (apt-get update && apt-get install -y haproxy)
	TOXIPROXY_SERVER=$(abspath $(TOXIPROXY)) $(BIN)/python bench/accuracy.py --json $(ACCURACY_JSON) $(ACCURACY_ARGS)

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache mutants
