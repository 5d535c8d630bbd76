#!/usr/bin/env bash
# Stops one sandbox component and starts it again with the same command line, as a
# crash and a restart would: restart.sh kube-apiserver. Tests use it to prove that
# waits survive an API server restart. Prints the new pid.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib.sh"
project="$(cd "$here/../.." && pwd)"
dir="${KP_SANDBOX_DIR:-$project/.sandbox}"
c="${1:?usage: restart.sh COMPONENT}"
[[ -f "$dir/cmd/$c" ]] || die "no component '$c' in $dir (see $dir/cmd/)"
mapfile -d '' argv <"$dir/cmd/$c"
if pid=$(cat "$dir/pids/$c.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
fi
nohup "${argv[@]}" >>"$dir/logs/$c.log" 2>&1 </dev/null &
echo $! >"$dir/pids/$c.pid"
say "restarted $c (pid $!)"
echo $!
