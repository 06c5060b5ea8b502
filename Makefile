# Hound: `make dev` and `make test` are the two commands (README.md). Every target is a thin
# wrapper over a script in infra/local/, which installs what is missing and starts (and stops)
# Postgres and moto as needed.

# The Python venv with cargo-lambda, moto[server] and cfn-lint (relative paths: to the repo).
VENV ?= .venv
export VENV

.PHONY: help dev demo test fuzz openapi bench lint fmt migrate

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

dev: ## Serve the whole API on http://127.0.0.1:9000 (Ctrl-C stops what it started)
	@bash infra/local/dev.sh

demo: ## With `make dev` running: walk the whole story over HTTP (artist → worker → listener)
	@bash infra/local/demo.sh

test: ## fmt check, clippy, cfn-lint and every test, against real Postgres and moto
	@bash infra/local/test.sh

fuzz: ## schemathesis over every operation of the OpenAPI document, against a fresh local stack
	@bash infra/local/fuzz.sh

openapi: ## Regenerate docs/openapi.json from the routers (a test fails while it is stale)
	cargo run -q -p hound-contract --bin hound-openapi > docs/openapi.json.tmp
	mv docs/openapi.json.tmp docs/openapi.json

bench: ## The benchmarks under bench/, in release mode
	@bash infra/local/bench.sh

lint: ## fmt check, clippy -D warnings and cfn-lint only
	@bash infra/local/lint.sh

fmt: ## Format the workspace
	cargo fmt --all

migrate: ## Apply pending migrations to the dev database
	@bash infra/local/migrate.sh
