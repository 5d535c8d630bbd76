# Shared by the sandbox scripts.
KP_CACHE="${KP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-plugins}"
KP_LOGS="${KP_LOGS:-$KP_CACHE/logs}"

say() { printf 'sandbox: %s\n' "$*" >&2; }
die() { printf 'sandbox: error: %s\n' "$*" >&2; exit 1; }

# component_dir NAME VERSION: where a component's build lives.
component_dir() { echo "$KP_CACHE/sandbox/$1-$2"; }
