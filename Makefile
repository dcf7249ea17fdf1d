.PHONY: run sandbox test lint screenshot faults

run:  ## set up and start the app (local sandbox when no account is saved)
	bash scripts/setup.sh
	.venv/bin/python main.py

sandbox:  ## run the local Open Connectors sandbox alone
	bash scripts/setup.sh
	.venv/bin/python -m core.sandbox

test:  ## set up and run lint, types and the whole test suite
	bash scripts/test.sh

lint:  ## ruff, then mypy: strict on core/, gui/ and main.py, default checks on tests/
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy && .venv/bin/mypy tests

screenshot:  ## the README screenshots, light and dark (docs/screenshot-*.png), under Xvfb
	bash scripts/screenshot.sh

faults:  ## the fault matrix: 30+ server and network faults through the real window, as a table
	bash scripts/setup.sh
	QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.reliability.matrix

.PHONY: bench
bench:  ## start-up, memory, responsiveness, 10,000 instances, a 200-row batch and cwdesk --help (docs/performance.md)
	bash scripts/setup.sh
	.venv/bin/python -m bench

.PHONY: bench-memory
bench-memory:  ## where the app's memory over a bare window goes, step by step (docs/performance.md)
	bash scripts/setup.sh
	.venv/bin/python -m bench.memory_steps
