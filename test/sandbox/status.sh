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
