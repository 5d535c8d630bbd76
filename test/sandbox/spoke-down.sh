#!/usr/bin/env bash
# Stops the spoke's processes (spoke-up.sh), by their recorded pids, and only those.
# The spoke's state stays (port, credentials, data in the sandbox's etcd under /spoke) and
# its Argo CD registration too: the hub's Argo CD then sees an unreachable cluster, and
# spoke-up.sh brings the same cluster back.
#   spoke-down.sh --purge   also forgets it: deletes the hub's cluster Secret and the spoke's
#                           data in the hub's etcd (when the hub runs), the state folder and
#                           the spoke's port reservations; spoke-up.sh then makes a new one.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib.sh"
project="$(cd "$here/../.." && pwd)"
dir="${KP_SANDBOX_DIR:-$project/.sandbox}"
spoke="$dir/spoke"
purge=
case "${1:-}" in
  --purge) purge=1 ;;
  "") ;;
  *) die "usage: spoke-down.sh [--purge]" ;;
esac
[[ -d "$spoke" ]] || { say "no spoke in $dir"; exit 0; }

ours() { # PID: still runs a binary from the sandbox's cache
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ "$exe" == "$KP_CACHE"/* ]]
}
victims=()
# kwok and the controllers before the API server.
for c in kwok kube-scheduler kube-controller-manager kube-apiserver; do
  f="$spoke/pids/$c.pid"
  [[ -f "$f" ]] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null && ours "$pid"; then
    say "stopping spoke $c (pid $pid)"
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

if [[ -n $purge ]]; then
  if [[ -f "$dir/kubeconfig" ]] && "$here/status.sh" >/dev/null 2>&1; then
    "${KUBECTL:-kubectl}" --kubeconfig "$dir/kubeconfig" -n argocd delete secret cluster-spoke \
      --ignore-not-found --wait=false >/dev/null 2>&1 || say "could not delete the hub's Secret argocd/cluster-spoke"
    # Everything under the prefix /spoke/ (etcd's JSON gateway takes base64 keys).
    etcd_port=$(grep -E '^KP_PORT_ETCD=' "$dir/env" | cut -d= -f2)
    if [[ -n "$etcd_port" ]]; then
      curl -fsS --max-time 10 -X POST "http://127.0.0.1:$etcd_port/v3/kv/deleterange" \
        -d "{\"key\":\"$(printf /spoke/ | base64)\",\"range_end\":\"$(printf /spoke0 | base64)\"}" >/dev/null \
        || say "could not delete the spoke's data from the hub's etcd"
    fi
  fi
  registry="${KP_PORT_REGISTRY:-${TMPDIR:-/tmp}/kp-sandbox-ports}"
  if [[ -f "$spoke/env" ]]; then
    for p in $(grep -E '^KP_PORT_SPOKE_' "$spoke/env" | cut -d= -f2); do
      [[ "$(cat "$registry/$p/owner" 2>/dev/null)" == "$dir" ]] && rm -rf "${registry:?}/$p"
    done
  fi
  rm -rf "$spoke"
  say "spoke stopped and forgotten"
else
  say "spoke stopped (spoke-up.sh starts it again; --purge forgets it)"
fi
