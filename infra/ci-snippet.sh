#!/usr/bin/env bash
# How CI (.ci/run, owned by the lead) should use the Docker-free infrastructure:
# start it, run the suites that need it, and ALWAYS stop it again, even on failure.
# Needs on the machine: Node 20.19+, Java 17+, Maven 3.8+, Go 1.24+, openssl (no Docker).
set -euo pipefail
cd "$(dirname "$0")/.."

infra_down() { npm run --silent infra:down || true; }
trap infra_down EXIT            # runs on success, failure and Ctrl-C

# First run in a fresh clone: Maven fetches the Kafka jars and Go builds FerretDB into .infra/
# (about 1.5-2 min with empty ~/.m2 and Go caches, far less when they are warm), then waits
# until all three services answer their client probes (INFRA_UP_TIMEOUT, default 90 s).
if ! npm run --silent infra:up; then
  npm run --silent infra:logs -- -n 80 || true
  exit 1
fi

npm run test:infra

# Suites that should run against the real servers get the same variables the app uses
# (optional; without them the app and its tests run in memory):
#   set -a; . ./.env.example; set +a
#   npm run test:int
#   npm run test:e2e
