# Build and test plumbing of the poolcraft.storage collection.
#
#   make test         every stage, then a table of their times (what CI runs: .ci/run; scripts/test-all)
#   make test-quick   units + the host scenarios of one pool type, for the edit-test loop (POOL=dir|fs|disk|logical|...)
#   make test-host    sanity + lint + units + host scenarios + host smoke targets
#   make test-vm      the VM tier: boot the test VM, its scenarios in one pytest run, its smoke play (tests/vm)
#   make sanity       ansible-test sanity (no ignore files) + changelog lint
#   make lint         ansible-lint, production profile, no skips: roles, examples, molecule scenarios (LINT_ARGS: paths)
#   make molecule     the roles' molecule scenarios against one test VM (MOLECULE_ARGS: scenario names)
#   make units        ansible-test units
#   make scenarios    the host scenarios: modules run in-process by pytest on the real subsystems (SCENARIO_ARGS)
#   make integration  ansible-test integration smoke targets, locally (what only a real Ansible run proves)
#   make build        collection tarball into .build/
#   make install      install that tarball into .build/collections
#   make demo         build + install + run examples/demo.yml against localhost, twice
#   make bench        benchmarks against libvirt (bench/README.md; BENCH_ARGS)
#   make bench-facts  storage_device_facts against setup and lsblk at 2,000 block devices (BENCH_FACTS_ARGS)
#   make bench-noop   6 no-op storage_pool tasks against 6 stat tasks through ansible-playbook (BENCH_NOOP_ARGS)
#   make bench-iscsi  iscsi-direct refresh of 64 LUNs on tgtd against virsh pool-refresh, as root (BENCH_ISCSI_ARGS)
#   make bench-rbd    rbd refresh and listing of 1,000 images against virsh pool-refresh, as root (BENCH_RBD_ARGS)
#   make bench-mpath  mpath refresh of 1 map among 64 in the test VM against multipath -ll, as root (BENCH_MPATH_ARGS)
#   make deps         Debian packages, .venv, get-pip stand-in (scripts/install-deps)
#   make clean        remove .build/ and tests/output/ (distclean: .venv/ too)
#
# Every ansible tool comes from .venv (made by `make deps`). The tests run in a
# copy of the collection at .build/ansible_collections/poolcraft/storage made
# from the files git would take (scripts/collection-tree), so uncommitted new
# files are tested and ignored ones are not.
#
# Variables: PYTHON_VERSION (3.11), SANITY_ARGS, UNITS_ARGS, INTEGRATION_ARGS
# (extra ansible-test arguments, e.g. INTEGRATION_ARGS=storage_smoke to run
# one target), SCENARIO_ARGS (pytest arguments: files, -k, -x), POOL (test-quick).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.SUFFIXES:

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT)/.venv
BUILD := $(ROOT)/.build
COLLECTIONS := $(BUILD)/collections
STAGE := $(ROOT)/scripts/run-stage
TREE := $(ROOT)/scripts/collection-tree

START := $(shell date +%s)

PYTHON_VERSION ?= 3.11
export PYTHON_VERSION
SANITY_ARGS ?=
UNITS_ARGS ?=
INTEGRATION_ARGS ?=
SCENARIO_ARGS ?=
LINT_ARGS ?=
MOLECULE_ARGS ?=
POOL ?= dir
BENCH_ARGS ?=
BENCH_FACTS_ARGS ?=
BENCH_NOOP_ARGS ?=
BENCH_ISCSI_ARGS ?=
BENCH_RBD_ARGS ?=
BENCH_MPATH_ARGS ?=

export PATH := $(VENV)/bin:$(PATH)

NAMESPACE := $(shell sed -n 's/^namespace:[[:space:]]*\([A-Za-z0-9_]*\).*/\1/p' $(ROOT)/galaxy.yml)
NAME := $(shell sed -n 's/^name:[[:space:]]*\([A-Za-z0-9_]*\).*/\1/p' $(ROOT)/galaxy.yml)
VERSION := $(shell sed -n 's/^version:[[:space:]]*\([0-9A-Za-z.+-]*\).*/\1/p' $(ROOT)/galaxy.yml)
TARBALL := $(BUILD)/$(NAMESPACE)-$(NAME)-$(VERSION).tar.gz

.PHONY: help deps tree sanity lint molecule units scenarios integration test-host test-vm test test-quick build install demo-playbook demo bench bench-facts bench-noop bench-iscsi bench-rbd bench-mpath clean distclean

help:
	@sed -n 's/^#   //p' $(ROOT)/Makefile

deps:
	@$(STAGE) deps $(ROOT)/scripts/install-deps

tree: deps
	@$(TREE)

sanity: deps
	@$(STAGE) sanity $(ROOT)/scripts/test-tier sanity $(SANITY_ARGS)

lint: deps
	@$(STAGE) lint $(ROOT)/scripts/test-lint $(LINT_ARGS)

molecule: deps
	@$(STAGE) molecule $(ROOT)/scripts/test-molecule $(MOLECULE_ARGS)

units: deps
	@$(STAGE) units $(ROOT)/scripts/test-tier units $(UNITS_ARGS)

scenarios: deps
	@$(STAGE) host-scenarios $(ROOT)/scripts/test-scenarios $(SCENARIO_ARGS)

integration: deps
	@$(STAGE) host-smoke $(ROOT)/scripts/test-tier integration $(INTEGRATION_ARGS)

test-host: sanity lint units scenarios integration
	@echo "test-host: sanity, lint, units, scenarios and smoke targets passed ($$(( $$(date +%s) - $(START) ))s in all)"

test-vm: deps
	@$(STAGE) vm $(ROOT)/scripts/test-vm

test-quick: deps
	@$(STAGE) units $(ROOT)/scripts/test-tier units $(UNITS_ARGS)
	@$(STAGE) host-scenarios $(ROOT)/scripts/test-scenarios $$(ls $(ROOT)/tests/scenarios/host/test_*$(POOL)*.py | sed 's|^$(ROOT)/||') $(SCENARIO_ARGS)

test:
	@$(ROOT)/scripts/test-all

build: deps
	@$(STAGE) build bash -c 'set -euo pipefail; \
		tree="$$($(TREE))"; \
		mkdir -p "$(BUILD)"; \
		ansible-galaxy collection build --force --output-path "$(BUILD)" "$$tree"; \
		echo "built: $(TARBALL)"'

install: build
	@$(STAGE) install bash -c 'set -euo pipefail; \
		ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS)" \
		ansible-galaxy collection install --force --collections-path "$(COLLECTIONS)" "$(TARBALL)"; \
		echo "installed into: $(COLLECTIONS)/ansible_collections/$(NAMESPACE)/$(NAME)"; \
		echo "use with: ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS)"'

demo-playbook:
	@if [[ ! -f "$(ROOT)/examples/demo.yml" ]]; then \
		echo "demo: examples/demo.yml does not exist (yet): nothing to run" >&2; exit 1; \
	fi

demo: demo-playbook deps build install
	@$(STAGE) demo $(ROOT)/scripts/demo "$(COLLECTIONS)"

bench: deps
	@$(STAGE) bench $(VENV)/bin/python $(ROOT)/bench/dir_pool_inventory.py $(BENCH_ARGS)

bench-facts: deps
	@$(STAGE) bench-facts $(VENV)/bin/python $(ROOT)/bench/device_facts.py $(BENCH_FACTS_ARGS)

bench-noop: deps install
	@$(STAGE) bench-noop $(VENV)/bin/python $(ROOT)/bench/noop_tasks.py --collections "$(COLLECTIONS)" $(BENCH_NOOP_ARGS)

bench-iscsi: deps
	@$(STAGE) bench-iscsi $(VENV)/bin/python $(ROOT)/bench/iscsi_direct_refresh.py $(BENCH_ISCSI_ARGS)

bench-rbd: deps
	@$(STAGE) bench-rbd $(VENV)/bin/python $(ROOT)/bench/rbd_refresh.py $(BENCH_RBD_ARGS)

bench-mpath: deps
	@$(STAGE) bench-mpath $(VENV)/bin/python $(ROOT)/bench/mpath_refresh.py $(BENCH_MPATH_ARGS)

clean:
	rm -rf "$(BUILD)" "$(ROOT)/tests/output"

distclean: clean
	rm -rf "$(VENV)"
