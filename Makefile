# Switchyard — the two commands that matter:
#   make run    build and start the Switchyard desktop app (tray + window; `make serve` = headless engine)
#   make test   install test dependencies, then run every test (Rust, real clients, keychain)
# Both install what they need on a fresh Debian/Ubuntu machine (apt packages, a local Python
# venv in .venv/, local npm packages in tests/clients/node_modules). Nothing is installed globally
# except apt packages.

SHELL := /bin/bash
CARGO ?= cargo
# Debug info doubles build time and size; tests don't need it.
export CARGO_PROFILE_DEV_DEBUG ?= 0
# The binaries the end-to-end tests run, built with exactly the features `cargo test --workspace`
# resolves (the whole workspace, test targets included): cargo unifies features per build
# selection, and any other selection (say `-p switchyard-cli`) compiles tokio, hyper, axum, the
# engine... a second time. After `make test-rust` this only links the binaries it did not need.
TEST_BUILD := --workspace --bins --tests
# Release builds of the desktop app (make run, make package, bench/desktop-rss.sh): one
# selection for all three, so none of them compiles a crate the others did not.
DESKTOP_RELEASE := --release -p switchyard-cli -p switchyard-mock -p switchyard-desktop -p switchyard-window --features switchyard-window/custom-protocol
export CARGO_TERM_COLOR ?= never

.PHONY: run serve build build-deps test test-rust test-clients test-browser test-desktop test-package package lint fmt bench soak soak-long clean-test fuzz fuzz-smoke

## Build-time dependencies: a Rust toolchain (>= 1.85) and a C compiler for the TLS library.
build-deps:
	@scripts/setup-build-deps.sh

## The desktop app (release build): the engine in-process with your config
## (~/.config/switchyard/config.toml or $$SWITCHYARD_CONFIG, else the built-in default: Anthropic,
## passthrough), a tray menu, notifications, and the web UI in a window. Needs a graphical session.
run: build-deps
	$(CARGO) build $(DESKTOP_RELEASE)
	./target/release/switchyard-desktop

## The headless engine (no display needed), same config. Ctrl-C stops it.
serve: build-deps
	$(CARGO) build --release -p switchyard-cli
	./target/release/switchyard serve

build: build-deps
	$(CARGO) build --workspace

## The Debian package (release build): target/debian/switchyard_<version>-1_<arch>.deb with the
## desktop app, the `switchyard` CLI, the menu entry, icons and a systemd user unit for the
## headless engine. Install it with `sudo apt install ./target/debian/switchyard_*.deb`.
## How and why: docs/desktop.md (Packages).
package: build-deps
	$(CARGO) build $(DESKTOP_RELEASE)
	scripts/package-deb.sh --profile release

## Every test: formatting and lints, Rust unit + integration tests, then the real clients
## (official Anthropic SDK, Claude Code CLI) and the real OS keychain (gnome-keyring in a
## private D-Bus session) against the built binaries, the web UI in a browser, and the desktop
## app under Xvfb.
test: build-deps
	@scripts/setup-test-deps.sh
	$(MAKE) lint
	$(MAKE) test-rust
	$(MAKE) test-clients
	$(MAKE) test-browser
	$(MAKE) test-desktop
	$(MAKE) test-package
	$(MAKE) fuzz-smoke

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust:
	$(CARGO) test --workspace

test-clients:
	$(CARGO) build $(TEST_BUILD)
	scripts/desktop-session.sh .venv/bin/python -m pytest tests/clients -q

## The web UI in a real browser: Debian's chromium driven by playwright-core (pinned in
## tests/browser/package-lock.json), against the built binaries, inside the desktop session
## (real Secret Service for the key tests). Screenshots go to docs/screenshot-ui*.png.
test-browser:
	$(CARGO) build $(TEST_BUILD)
	@test -x /usr/bin/chromium || { echo "chromium is missing: run scripts/setup-test-deps.sh (apt package: chromium)"; exit 1; }
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	scripts/desktop-session.sh node --test tests/browser/

## The desktop app end to end under Xvfb: tauri-driver + WebKitWebDriver, a real tray host
## (trayer), dunst, gnome-keyring. Screenshots go to docs/screenshot-app.png, docs/screenshot-tray.png.
test-desktop:
	$(CARGO) build $(TEST_BUILD)
	@test -x .tools/bin/tauri-driver || { echo "tauri-driver is missing: run scripts/setup-test-deps.sh"; exit 1; }
	scripts/desktop-session.sh --display .venv/bin/python -m pytest tests/desktop -q --ignore=tests/desktop/test_package.py

## The package, installed here (needs root): packaged from the debug build the tests already
## made (same packaging code as `make package`), installed with apt, the installed app run under
## Xvfb, then removed (tests/desktop/test_package.py).
test-package:
	$(CARGO) build $(TEST_BUILD)
	@command -v desktop-file-validate >/dev/null || { echo "desktop-file-validate is missing: run scripts/setup-test-deps.sh"; exit 1; }
	deb="$$(scripts/package-deb.sh --profile debug --fast --out target/debian-debug)" && \
		SWITCHYARD_DEB="$$deb" scripts/desktop-session.sh --display .venv/bin/python -m pytest tests/desktop/test_package.py -q

fmt:
	$(CARGO) fmt --all

## Load and start-up benchmarks, the chaos soaks included; results go to bench/RESULTS.md (~80 min,
## one hour of it the long soak; QUICK=1 for a smoke run). Not part of CI.
bench: build-deps
	@scripts/setup-test-deps.sh
	bench/run.sh
	bench/desktop-rss.sh

## Fuzzing (cargo-fuzz on stable Rust via RUSTC_BOOTSTRAP, targets in fuzz/): the SSE parser, the
## OpenAI and Gemini stream translators (output checked against the Anthropic stream rules),
## the config parser and the request guard. fuzz-smoke: a short run of each (part of `make
## test`); fuzz: FUZZ_SECONDS per target (default 240). Results: bench/FUZZ.md.
fuzz-smoke:
	@scripts/fuzz.sh smoke

fuzz:
	@scripts/fuzz.sh long

## Chaos soak alone (10,000 requests while the primary flaps); report in target/bench/soak.md.
soak: build-deps
	BENCH_PARTS=soak bench/run.sh

## The one-hour soak alone (same chaos at a steady, moderate rate; RSS every 30 s); report in
## target/bench/longsoak.md. BENCH_UPDATE=1 replaces its section in bench/RESULTS.md.
soak-long: build-deps
	BENCH_PARTS=longsoak bench/run.sh
