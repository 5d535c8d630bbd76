#!/usr/bin/env bash
# Snapshots this checkout (tracked and untracked files, .gitignore honoured) into the
# sandbox's local git repository and commits it, so Argo CD sees the working tree.
# Usage: sync-repo.sh [SANDBOX_DIR]. Prints the new HEAD.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib.sh"
project="$(cd "$here/../.." && pwd)"
dir="${1:-${KP_SANDBOX_DIR:-$project/.sandbox}}"
repo="$dir/repo"
g() { git -C "$repo" -c user.name=sandbox -c user.email=sandbox@localhost -c commit.gpgsign=false "$@"; }
if [[ ! -d "$repo/.git" ]]; then
  mkdir -p "$repo"
  git init -q -b main "$repo"
fi
find "$repo" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
(cd "$project" && git ls-files -z -c -o --exclude-standard --deduplicate) \
  | (cd "$project" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$repo" -xf -
# Environments that point at the sandbox's own repository say file:///KP_SANDBOX_REPO
# in git; the snapshot Argo CD reads says where this sandbox's repository really is.
grep -rlZ --include='*.yaml' 'file:///KP_SANDBOX_REPO' "$repo" 2>/dev/null \
  | xargs -0 -r sed -i "s#file:///KP_SANDBOX_REPO#file://$repo#g"
g add -A
g diff --cached --quiet || g commit -q -m "sandbox: snapshot of $(cd "$project" && git rev-parse --short HEAD 2>/dev/null || echo worktree)"
g rev-parse HEAD
