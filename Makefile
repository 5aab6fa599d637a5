.PHONY: run test bench check
run:   ## set up and serve the portal at http://127.0.0.1:8000 (SQLite, stand-in identity provider, demo data)
	scripts/run.sh
test:  ## set up and run every test (SQLite, then PostgreSQL)
	scripts/test.sh
bench: ## load-test a running portal (see bench/README.md)
	.venv/bin/python -m bench
check:
	.venv/bin/python -m portal check
