#!/usr/bin/env bash
# make dist: cross-compiles the three plugins (static, -trimpath, stripped, version
# stamped) and packs each as krew expects (.tar.gz, .zip for windows) with the LICENSE
# and its kubectl_complete-<plugin> script, then writes SHA256SUMS. Archives are
# reproducible: file times are the commit's, owners are 0, gzip stores no name.
# Env: VERSION, COMMIT, PLATFORMS (default: linux/amd64 linux/arm64 darwin/amd64
# darwin/arm64 windows/amd64), OUT (default dist).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
VERSION="${VERSION:-$(git describe --tags --match 'v*' 2>/dev/null || echo v0.1.0)}"
COMMIT="${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
DATE="$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
PLATFORMS="${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64}"
OUT="${OUT:-dist}"
module=github.com/aidev-platform/kubectl-plugins
ldflags="-s -w -X $module/pkg/version.Version=$VERSION -X $module/pkg/version.Commit=$COMMIT -X $module/pkg/version.BuildDate=$DATE"
command -v zip >/dev/null || [[ "$PLATFORMS" != *windows* ]] || { apt-get update >/dev/null && apt-get install -y zip >/dev/null; } \
  || { echo "dist: zip is missing (apt-get install zip)" >&2; exit 1; }

rm -rf "$OUT/build" && mkdir -p "$OUT/build"
for plugin in profile costgate smoke; do
  for platform in $PLATFORMS; do
    os=${platform%/*} arch=${platform#*/}
    ext="" && [[ $os == windows ]] && ext=.exe
    dir="$OUT/build/kubectl-${plugin}_${os}_${arch}"
    mkdir -p "$dir"
    echo "dist: kubectl-$plugin $VERSION $os/$arch" >&2
    CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "$ldflags" -o "$dir/kubectl-$plugin$ext" "./plugins/kubectl-$plugin"
    # The same binary under argocd's plugin name: argv[0] says which CLI runs it.
    cp "$dir/kubectl-$plugin$ext" "$dir/argocd-$plugin$ext"
    cp LICENSE "$dir/LICENSE"
    if [[ $os == windows ]]; then
      printf '@echo off\r\nkubectl %s __complete %%*\r\n' "$plugin" >"$dir/kubectl_complete-$plugin.bat"
    else
      printf '#!/usr/bin/env sh\n# kubectl (1.26+) runs this to complete `kubectl %s ...`\nexec kubectl %s __complete "$@"\n' "$plugin" "$plugin" >"$dir/kubectl_complete-$plugin"
      chmod 0755 "$dir/kubectl_complete-$plugin"
    fi
    find "$dir" -exec touch -h -d "@$EPOCH" {} +
    name="kubectl-${plugin}_${VERSION}_${os}_${arch}"
    if [[ $os == windows ]]; then
      rm -f "$OUT/$name.zip"
      (cd "$dir" && zip -q -X -D "../../$name.zip" $(ls | sort))
    else
      tar --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner -C "$dir" -cf - . | gzip -n -9 >"$OUT/$name.tar.gz"
    fi
  done
done
(cd "$OUT" && sha256sum kubectl-*_"$VERSION"_* >SHA256SUMS)
echo "dist: $(wc -l <"$OUT/SHA256SUMS") archives in $OUT (SHA256SUMS)" >&2
