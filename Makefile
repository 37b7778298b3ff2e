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

# The day-report test renders the page in Debian's Chromium (no browser download: not reachable here)
# with a Korean font (investor groups are named in Korean; without one they render as boxes).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ -n "$$TICKTAPE_SKIP_BROWSER" ]; then echo "skipping chromium install (TICKTAPE_SKIP_BROWSER)"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi

KOREAN_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
$(KOREAN_FONT):
	@if [ -n "$$TICKTAPE_SKIP_BROWSER" ]; then echo "skipping fonts-noto-cjk install (TICKTAPE_SKIP_BROWSER)"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null; fi

# The bus tests (test/bus-*.test.ts) and `make bench` start Debian's nats-server (JetStream) on a loopback port.
NATS_SERVER := /usr/sbin/nats-server
$(NATS_SERVER):
	@if [ -n "$$TICKTAPE_SKIP_BROWSER" ]; then echo "skipping nats-server install (TICKTAPE_SKIP_BROWSER)"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null; fi

test: build $(CHROMIUM) $(KOREAN_FONT) $(NATS_SERVER)
	npx vitest run

# The fault and soak suite at full size (make test runs the same scenarios bounded). The soak runs
# on its own: its flat-memory check compares RSS early and late in the day, and the other
# scenarios' load on the early part alone skewed that (149 MB early, 167 MB late; alone: 162, 166).
test-faults: build
	TICKTAPE_FAULTS=full npx vitest run test/faults- --exclude test/faults-soak.test.ts
	TICKTAPE_FAULTS=full npx vitest run test/faults-soak.test.ts

bench: build $(NATS_SERVER)
	node dist/bench/run.js

check: $(INSTALLED)
	npm run --silent check

clean:
	rm -rf dist data
