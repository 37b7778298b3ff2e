# ticktape — one command each: make demo, make test, make bench, make check.
SHELL := /bin/bash
INSTALLED := node_modules/.package-lock.json

.PHONY: demo test test-faults bench check build install clean

# npm ci also compiles the TypeScript (the `prepare` script); rerun only when the lock changes.
$(INSTALLED): package-lock.json package.json
	npm ci --no-audit --no-fund
	@touch $(INSTALLED)

install: $(INSTALLED)

build: $(INSTALLED)
	npm run --silent build

demo: build
	node bin/ticktape.js demo

test: build
	npx vitest run

bench: build
	node dist/bench/run.js

check: $(INSTALLED)
	npm run --silent check

clean:
	rm -rf dist data
