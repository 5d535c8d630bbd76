#!/usr/bin/env bash
# make vuln: govulncheck over the module against an offline vulnerability database.
# The public service cannot be reached here, but its database is a Go module
# (golang.org/x/vulndb): its OSV files are indexed into the database layout
# govulncheck reads with -db file://. Tools and database are cached by version.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$(cd "$here/.." && pwd)"
. "$here/sandbox/lib.sh"
VULN_VERSION=${VULN_VERSION:-v1.9.0}
VULNDB_VERSION=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3} GOFLAGS=-mod=mod
tools="$KP_CACHE/tools/vuln-$VULN_VERSION-db-${VULNDB_VERSION##*-}"
db="$tools/db"
if [[ ! -x "$tools/govulncheck" || ! -f "$db/index/db.json" ]]; then
  say "building govulncheck $VULN_VERSION and the offline database from golang.org/x/vulndb $VULNDB_VERSION"
  mod="$KP_CACHE/build/vulndb"; rm -rf "$mod"; mkdir -p "$mod" "$tools"
  printf 'module sandbox.local/vulndb\ngo 1.27.0\nrequire golang.org/x/vulndb %s\n' "$VULNDB_VERSION" >"$mod/go.mod"
  (cd "$mod" && go get "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" && go build -o "$tools/indexdb" golang.org/x/vulndb/cmd/indexdb) >"$KP_LOGS/build-vulndb.log" 2>&1 \
    || die "building indexdb failed; log: $KP_LOGS/build-vulndb.log"
  GOBIN="$tools" go install "golang.org/x/vuln/cmd/govulncheck@$VULN_VERSION" >>"$KP_LOGS/build-vulndb.log" 2>&1 \
    || die "building govulncheck failed; log: $KP_LOGS/build-vulndb.log"
  src="$(cd "$mod" && go list -m -f '{{.Dir}}' golang.org/x/vulndb)"
  rm -rf "$db" && "$tools/indexdb" -vulns "$src/data/osv" -out "$db" >>"$KP_LOGS/build-vulndb.log" 2>&1 \
    || die "indexing the database failed; log: $KP_LOGS/build-vulndb.log"
fi
cd "$project"
say "govulncheck $VULN_VERSION, database golang.org/x/vulndb $VULNDB_VERSION ($(ls "$db/ID" | wc -l) entries)"
exec "$tools/govulncheck" -db "file://$db" "$@" ./...
