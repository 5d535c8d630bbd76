# Shared by the sandbox scripts.
KP_CACHE="${KP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-plugins}"
KP_LOGS="${KP_LOGS:-$KP_CACHE/logs}"

say() { printf 'sandbox: %s\n' "$*" >&2; }
die() { printf 'sandbox: error: %s\n' "$*" >&2; exit 1; }

# component_dir NAME VERSION: where a component's build lives.
component_dir() { echo "$KP_CACHE/sandbox/$1-$2"; }

# --- starting processes (up.sh, spoke-up.sh) ------------------------------------
# They use the caller's $dir (the sandbox's state folder), $logs, $pids, an
# associative array ports, and its fail COMPONENT MESSAGE.

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Pick below the kernel's ephemeral range, where outgoing connections take their
# local ports and could grab one between the pick and the bind.
read -r ephemeral_low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || ephemeral_low=32768
port_low=10000 port_high=$(( ephemeral_low > 20000 ? ephemeral_low : 32768 ))
# Sandboxes started at the same moment (the e2e packages run in parallel) would see
# the same ports free before either binds them, so a pick is also reserved, atomically,
# in a registry shared by every sandbox on the machine; down.sh releases it.
port_registry="${KP_PORT_REGISTRY:-${TMPDIR:-/tmp}/kp-sandbox-ports}"
reserve_port() { # PORT: true if this sandbox now holds it
  local r="$port_registry/$1" owner
  mkdir -p "$port_registry"
  if mkdir "$r" 2>/dev/null; then echo "$dir" >"$r/owner"; return 0; fi
  owner=$(cat "$r/owner" 2>/dev/null) || owner=
  # A reservation outlives its sandbox only if down.sh never ran: reclaim it then.
  if [[ "$owner" == "$dir" || ( -n "$owner" && ! -d "$owner" ) ]]; then echo "$dir" >"$r/owner"; return 0; fi
  return 1
}
# pick_port NAME [PREFIX]: ${PREFIX}NAME (KP_PORT_<NAME> by default) if set (taken as
# given: a busy one makes its component fail to start, with its log), else a free
# random port, reserved.
pick_port() {
  local c=$1 var="${2:-KP_PORT_}${1^^}" p
  var=${var//-/_}
  if [[ -n "${!var:-}" ]]; then
    p=${!var}
  else
    while :; do
      p=$(( port_low + RANDOM % (port_high - port_low) ))
      [[ " ${ports[*]} " == *" $p "* ]] && continue
      port_in_use "$p" && continue
      reserve_port "$p" && break
    done
  fi
  ports[$c]=$p
}

# ready COMPONENT TIMEOUT CHECK...: waits until CHECK succeeds; fails fast if the
# process exits, and with its log after TIMEOUT seconds.
ready() {
  local c=$1 timeout=$2; shift 2
  local deadline=$(( SECONDS + timeout )) pid
  pid=$(cat "$pids/$c.pid")
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      if grep -qi "address already in use" "$logs/$c.log"; then
        fail "$c" "exited: a port it needs is already in use"
      fi
      fail "$c" "exited during start-up"
    fi
    (( SECONDS < deadline )) || fail "$c" "not ready after ${timeout}s"
    sleep 0.2
  done
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$@"; }
