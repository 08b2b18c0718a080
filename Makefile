# gavel: `make demo` runs the main job, `make test` runs every test. Both install what they need.
SHELL := /bin/bash
CARGO ?= cargo
WASM_TARGET := wasm32-unknown-unknown
POLICY_CRATES := malicious-content unauthorized-access secrets-leak
TEST_POLICY_CRATES := hostile
WASM_OUT := target/$(WASM_TARGET)/policy
CORPUS ?= ../shared/corpus
GAVEL := target/debug/gavel
VENV := .venv

.PHONY: all build policies test demo layer bench detection fuzz demo-response rust-targets venv qemu lint clean

all: policies

# The wasm target is the only toolchain addition; rustup is what the Rust toolchain came with.
rust-targets:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

# One debug build of every host target (wasmtime's dependencies are optimised in dev, see
# Cargo.toml), shared by the CLI, the tests and the demo. --all-targets makes cargo resolve the
# same features `cargo test` will, so `make test` does not compile the AWS SDK a second time.
build: rust-targets
	$(CARGO) build --workspace --all-targets

# Policies: core wasm modules wrapped into components, plus the layer's manifest.
policies: build
	$(CARGO) build --profile policy --target $(WASM_TARGET) $(addprefix -p ,$(POLICY_CRATES) $(TEST_POLICY_CRATES))
	target/debug/gavel-policy-build --out-dir target/policies $(foreach p,$(POLICY_CRATES),$(WASM_OUT)/$(subst -,_,$(p)).wasm)
	target/debug/gavel-policy-build --out-dir target/test-policies $(foreach p,$(TEST_POLICY_CRATES),$(WASM_OUT)/$(subst -,_,$(p)).wasm)
	$(GAVEL) policy manifest target/policies > target/policies/manifest.json.tmp && mv target/policies/manifest.json.tmp target/policies/manifest.json

venv:
	@bash tests/setup-venv.sh

# Every test: the workspace's (unit, engine containment, shipped policies on the corpus, end to
# end, layer zips, template), the supply-chain checks, then the whole end-to-end suite again on
# the x86_64 layer's own files (static binary, wrapper, bootstrap, precompiled policies).
test: policies venv qemu layer
	$(CARGO) test --workspace --no-fail-fast
	@bash tests/deny.sh
	GAVEL_E2E_LAYER=$(CURDIR)/dist/gavel-layer-x86_64.zip $(CARGO) test -p gavel-e2e --test all --no-fail-fast

qemu:
	@bash tests/setup-qemu.sh

# The main job: a function with gavel attached judging real events, no AWS account needed.
demo: policies venv
	target/debug/gavel-demo

# The incident-response loop (issue 9) on loopback: gavel's deny record goes to SQS in moto,
# gavel-responder (run as a Lambda function) quarantines the bucket and revokes the intruder.
# An example of the responder crate, so the Lambda binary does not depend on the test harness;
# `build` (through `policies`) compiles it with the workspace's features, so no second build here.
demo-response: policies venv
	target/debug/examples/gavel-demo-response

# Benchmarks (issue 7): the x86_64 layer as shipped (static binary, precompiled policies), the
# bench driver in dev (its dependencies are optimised there). Prints the table and regenerates the
# measured section of docs/BENCHMARKS.md. BENCH_ARGS=--quick for a smoke run.
BENCH_ARGS ?=
BENCH_DOC ?= docs/BENCHMARKS.md
bench: policies venv layer
	$(CARGO) build -p gavel-e2e --bin gavel-bench
	$(CARGO) build --release -p malicious-content --example speed
	GAVEL_E2E_LAYER=$(CURDIR)/dist/gavel-layer-x86_64.zip target/debug/gavel-bench --write $(BENCH_DOC) $(BENCH_ARGS)

# The layer zips (issue 5): static musl binaries for x86_64 and arm64, policies precompiled by
# the binary that loads them. LAYER_ARCHES=x86_64 builds one. See layer/build.sh.
layer: policies venv
	@bash layer/build.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

detection: policies
	@bash tests/detection.sh $(CORPUS)

# Fuzzing (issue 8): the cargo-fuzz targets in fuzz/ (a workspace of its own), each run
# FUZZ_SECONDS on one core, seeded from fuzz/seeds/ and $(CORPUS). Not part of `make test`.
# Works on stable (no sanitizer); FUZZ_TARGETS, FUZZ_TOOLCHAIN, FUZZ_SANITIZER: fuzz/run.sh.
# Figures and the crashes found: docs/RELIABILITY.md.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) CORPUS=$(abspath $(CORPUS)) bash fuzz/run.sh

clean:
	rm -rf target/policies target/test-policies dist
