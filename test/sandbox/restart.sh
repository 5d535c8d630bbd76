#!/usr/bin/env bash
# Stops one sandbox component and starts it again with the same command line, as a
# crash and a restart would: restart.sh kube-apiserver [restart|stop|start]. Tests use
# it to prove that waits survive an API server restart. Prints the new pid.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib.sh"
project="$(cd "$here/../.." && pwd)"
dir="${KP_SANDBOX_DIR:-$project/.sandbox}"
c="${1:?usage: restart.sh COMPONENT [restart|stop|start]}"
action="${2:-restart}"
[[ "$action" =~ ^(restart|stop|start)$ ]] || die "unknown action '$action' (want restart, stop or start)"
[[ -f "$dir/cmd/$c" ]] || die "no component '$c' in $dir (see $dir/cmd/)"
mapfile -d '' argv <"$dir/cmd/$c"
if [[ $action == start ]] && pid=$(cat "$dir/pids/$c.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
  say "$c is already running (pid $pid)"; echo "$pid"; exit 0
fi
if [[ $action != start ]] && pid=$(cat "$dir/pids/$c.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
fi
if [[ $action == stop ]]; then say "stopped $c"; exit 0; fi
nohup "${argv[@]}" >>"$dir/logs/$c.log" 2>&1 </dev/null &
echo $! >"$dir/pids/$c.pid"
say "${action}ed $c (pid $!)"
echo $!
