# aws-syslog-forwarder: `make run` replays the sample events to stdout (no AWS account needed);
# `make test` installs what the tests need and runs every test.

SHELL := /bin/bash
CARGO ?= cargo
VENV := .venv
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := target/debug/aws-syslog-forwarder
# Sample events replayed by `make run` (findings.json is the saved ECR findings they use).
EVENTS := $(filter-out events/findings.json,$(wildcard events/*.json))
APT_PACKAGES := rsyslog rsyslog-gnutls rsyslog-openssl openssl iproute2
PIP_PACKAGES := 'moto[server]==5.2.5' 'cargo-lambda==1.9.2'

.PHONY: run test deps apt-deps venv build lint fmt clean

run: build
	@for event in $(EVENTS); do \
		echo "# $$event" >&2; \
		ORGANISATION=$${ORGANISATION:-ExampleOrg} SYSLOG_FRAMING=$${SYSLOG_FRAMING:-lf} \
			$(BIN) replay --findings events/findings.json "$$event" || exit 1; \
	done

build:
	$(CARGO) build --quiet

test: deps
	$(CARGO) test

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

deps: apt-deps venv

# The real receivers and tools the tests start: rsyslog (TCP and TLS), openssl, ss.
apt-deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# moto (the ECR API) and cargo-lambda (the Lambda Runtime API emulator), in an ignored venv.
venv: $(VENV)/.installed

$(VENV)/.installed: Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(PIP_PACKAGES)
	touch $@

clean:
	$(CARGO) clean
	rm -rf $(VENV)
