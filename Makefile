.PHONY: run sandbox test lint screenshot

run:  ## set up and start the app (local sandbox when no account is saved)
	bash scripts/setup.sh
	.venv/bin/python main.py

sandbox:  ## run the local Open Connectors sandbox alone
	bash scripts/setup.sh
	.venv/bin/python -m core.sandbox

test:  ## set up and run lint, types and the whole test suite
	bash scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy
