#!/usr/bin/env bash
# Says whether the sandbox's processes are running and how to use it; exit 1 if any is not.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib.sh"
project="$(cd "$here/../.." && pwd)"
dir="${KP_SANDBOX_DIR:-$project/.sandbox}"
[[ -d "$dir/pids" ]] || { say "not running ($dir has no pids)"; exit 1; }
rc=0 n=0
for f in "$dir"/pids/*.pid; do
  [[ -e "$f" ]] || continue
  n=$((n + 1))
  c=$(basename "$f" .pid) pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    printf '  %-34s running  pid %-8s log %s\n' "$c" "$pid" "$dir/logs/$c.log"
  else
    printf '  %-34s STOPPED  pid %-8s log %s\n' "$c" "$pid" "$dir/logs/$c.log"; rc=1
  fi
done
(( n > 0 )) || { say "not running"; exit 1; }
# The spoke (spoke-up.sh), when one was started: a stopped spoke is reported, but is not
# a failure of the sandbox (tests stop it on purpose).
if [[ -d "$dir/spoke/pids" ]]; then
  printf '\nSpoke cluster (test/sandbox/spoke-up.sh, spoke-down.sh):\n'
  for c in kube-apiserver kube-controller-manager kube-scheduler kwok; do
    f="$dir/spoke/pids/$c.pid"
    if [[ -f "$f" ]] && pid=$(cat "$f") && kill -0 "$pid" 2>/dev/null; then
      printf '  spoke %-28s running  pid %-8s log %s\n' "$c" "$pid" "$dir/spoke/logs/$c.log"
    else
      printf '  spoke %-28s STOPPED  %-12s log %s\n' "$c" "" "$dir/spoke/logs/$c.log"
    fi
  done
  if [[ -f "$dir/spoke/env" ]]; then
    (. "$dir/spoke/env"
     printf '  server %s, Argo CD cluster %s (Secret %s)\n' "$KP_SPOKE_SERVER" "$KP_SPOKE_NAME" "$KP_SPOKE_SECRET"
     printf '  kubeconfig %s (contexts %s, current, and %s)\n' "$KP_SPOKE_KUBECONFIG" "$KP_SPOKE_HUB_CONTEXT" "$KP_SPOKE_CONTEXT")
  fi
fi
[[ -f "$dir/env" ]] || { say "incomplete: $dir/env is missing (start-up did not finish)"; exit 1; }
. "$dir/env"
printf '\nUse it:\n'
printf '  export KUBECONFIG=%s\n' "$KUBECONFIG"
printf '  kubectl get nodes\n  kubectl -n argocd get applications\n'
printf 'Argo CD API (server mode): ARGOCD_SERVER=%s (plaintext), user admin, password in %s\n' \
  "$ARGOCD_SERVER" "$KP_ARGOCD_ADMIN_PASSWORD_FILE"
printf 'Local git repository read by Argo CD: %s (refresh it: test/sandbox/sync-repo.sh)\n' "$KP_REPO_URL"
printf 'Stop it: make sandbox-down\n'
exit $rc
