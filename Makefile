# Hound: the two commands are `make dev` and `make test` (see README.md).
.PHONY: dev test bench lint fmt migrate

dev: ## Serve the whole API locally on http://127.0.0.1:9000
	@bash infra/local/dev.sh

test: ## fmt, clippy, cfn-lint and every test, against real Postgres and moto
	@bash infra/local/test.sh

bench: ## Benchmarks under bench/, printed as ratios to same-run baselines
	@bash infra/local/bench.sh

lint: ## fmt check, clippy and cfn-lint only
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$${VENV:-.venv}/bin/cfn-lint infra/template.yaml

fmt:
	cargo fmt --all

migrate: ## Apply migrations to DATABASE_URL
	cargo run -q -p hound-cli -- migrate
