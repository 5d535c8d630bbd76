#!/usr/bin/env bash
# Stops the processes the sandbox started, by their recorded pids, and only those:
# a pid is signalled only while its executable is still one the sandbox ran.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib.sh"
project="$(cd "$here/../.." && pwd)"
dir="${KP_SANDBOX_DIR:-$project/.sandbox}"
# The spoke first (spoke-up.sh), if one runs beside this sandbox.
[[ -d "$dir/spoke" ]] && "$here/spoke-down.sh"
[[ -d "$dir/pids" ]] || { say "nothing to stop in $dir"; exit 0; }

# ours PID: the process still runs a binary from the sandbox's cache or folder, or redis.
ours() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ "$exe" == "$KP_CACHE"/* || "$exe" == "$dir"/bin/* || "$exe" == *redis* ]]
}

victims=()
# Newest pid file first: Argo CD stops before the API server, etcd last.
for f in $(ls -t "$dir"/pids/*.pid 2>/dev/null); do
  pid=$(cat "$f") c=$(basename "$f" .pid)
  if kill -0 "$pid" 2>/dev/null && ours "$pid"; then
    say "stopping $c (pid $pid)"
    kill -TERM "$pid" 2>/dev/null && victims+=("$pid")
  fi
  rm -f "$f"
done
deadline=$(( SECONDS + 15 ))
for pid in "${victims[@]}"; do
  while kill -0 "$pid" 2>/dev/null; do
    if (( SECONDS >= deadline )); then kill -KILL "$pid" 2>/dev/null; break; fi
    sleep 0.1
  done
done
# Release the ports up.sh reserved for this sandbox.
registry="${KP_PORT_REGISTRY:-${TMPDIR:-/tmp}/kp-sandbox-ports}"
for owner in "$registry"/*/owner; do
  [[ -f "$owner" && "$(cat "$owner" 2>/dev/null)" == "$dir" ]] && rm -rf "$(dirname "$owner")"
done
say "stopped"
