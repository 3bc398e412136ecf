# Switchyard — the two commands that matter:
#   make run    build and start Switchyard (headless engine until the desktop app lands)
#   make test   install test dependencies, then run every test (Rust, real clients, keychain)
# Both install what they need on a fresh Debian/Ubuntu machine (apt packages, a local Python
# venv in .venv/, local npm packages in tests/clients/node_modules). Nothing is installed globally
# except apt packages.

SHELL := /bin/bash
CARGO ?= cargo
# Debug info doubles build time and size; tests don't need it.
export CARGO_PROFILE_DEV_DEBUG ?= 0
export CARGO_TERM_COLOR ?= never

.PHONY: run serve build build-deps test test-rust test-clients test-browser lint fmt bench clean-test

## Build-time dependencies: a Rust toolchain (>= 1.85) and a C compiler for the TLS library.
build-deps:
	@scripts/setup-build-deps.sh

## Start the engine with your config (~/.config/switchyard/config.toml or $$SWITCHYARD_CONFIG),
## or the built-in default (Anthropic, passthrough) when there is none. Ctrl-C stops it.
run: build-deps
	$(CARGO) build --release -p switchyard-cli
	./target/release/switchyard serve

serve: run

build: build-deps
	$(CARGO) build --workspace

## Every test: formatting and lints, Rust unit + integration tests, then the real clients
## (official Anthropic SDK, Claude Code CLI) and the real OS keychain (gnome-keyring in a
## private D-Bus session) against the built binaries.
test: build-deps
	@scripts/setup-test-deps.sh
	$(MAKE) lint
	$(MAKE) test-rust
	$(MAKE) test-clients
	$(MAKE) test-browser

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust:
	$(CARGO) test --workspace

test-clients:
	$(CARGO) build -p switchyard-cli -p switchyard-mock
	scripts/desktop-session.sh .venv/bin/python -m pytest tests/clients -q

## The web UI in real Chromium (playwright-core), against the real binaries and keychain.
test-browser:
	$(CARGO) build -p switchyard-cli -p switchyard-mock
	@test -x /usr/bin/chromium || { echo "chromium is missing: run scripts/setup-test-deps.sh (apt package: chromium)"; exit 1; }
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	scripts/desktop-session.sh node --test tests/browser/

fmt:
	$(CARGO) fmt --all

## Load and start-up benchmarks; results go to bench/RESULTS.md.
bench: build-deps
	@scripts/setup-test-deps.sh
	bench/run.sh
