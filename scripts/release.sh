#!/usr/bin/env bash
# The release process, everything but publishing, so it runs (and is tested)
# on any machine with Go, git, tar, gzip and zip:
#
#   scripts/release.sh VERSION
#       Cut release vVERSION (semver, e.g. 0.2.0) from a clean main:
#       1. commit "Release vVERSION": VERSION, and the README's install
#          and pin snippets pointed at vVERSION;
#       2. build every platform's archive from that commit (build);
#       3. pin their SHA-256 in dist/ and commit that, the commit the tag
#          points at, so `uses: takos-dev/takos-apply@<that sha>` pins the
#          binaries too (scripts/action-install.sh verifies against dist/);
#       4. tag vVERSION (annotated);
#       5. commit the next development version (X.Y.(Z+1)-dev), so later
#          commits, which no release binary matches, build from source.
#       It prints the command that publishes (push main and the tag); the
#       release workflow (.github/workflows/release.yml) then rebuilds at
#       the tag, checks the bytes against dist/, publishes, and moves the
#       major tag (v0, v1, ...) to the release once its assets exist.
#
#   scripts/release.sh build OUTDIR [--version V] [--platforms "os/arch ..."]
#       Only build: OUTDIR gets one archive per platform, checksums.txt
#       (SHA-256 of the archives, `sha256sum -c` format), binaries.sha256
#       (SHA-256 of each unpacked executable) and an SBOM (CycloneDX JSON).
#
#   scripts/release.sh check OUTDIR
#       Compare OUTDIR's checksums with the ones pinned in dist/: the proof,
#       at the tag, that the release workflow built the very bytes the
#       action pins (builds are reproducible; see scripts/build.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
all_platforms="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64"
semver='^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$'

die() { echo "scripts/release.sh: $*" >&2; exit 1; }

sha256() { # prints the SHA-256 of file $1
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# source_epoch: the commit time of the source (see scripts/build.sh for
# which commit), the mtime of every file in the archives.
source_epoch() {
  git log -1 --format=%ct -- . ':(exclude)dist' 2>/dev/null || echo 0
}

build() {
  local out="" version="" platforms="$all_platforms"
  while [ $# -gt 0 ]; do
    case "$1" in
      --version) version="${2:?--version needs a value}"; shift 2 ;;
      --platforms) platforms="${2:?--platforms needs a value}"; shift 2 ;;
      -*) die "unknown flag $1" ;;
      *) [ -z "$out" ] || die "one OUTDIR only"; out="$1"; shift ;;
    esac
  done
  [ -n "$out" ] || die "usage: scripts/release.sh build OUTDIR [--version V] [--platforms LIST]"
  version="${version:-$(cat VERSION)}"
  [[ "$version" =~ $semver ]] || die "VERSION '$version' is not semver (MAJOR.MINOR.PATCH[-PRE])"
  mkdir -p "$out"
  out="$(cd "$out" && pwd)"
  local epoch
  epoch="$(source_epoch)"
  stage="$(mktemp -d)" # global: the EXIT trap removes it
  trap 'rm -rf "$stage"' EXIT
  : > "$out/checksums.txt.tmp"
  : > "$out/binaries.sha256.tmp"
  local p os arch exe name dir archive
  for p in $platforms; do
    os="${p%/*}" arch="${p#*/}"
    case " $all_platforms " in *" $p "*) ;; *) die "unsupported platform $p (supported: $all_platforms)" ;; esac
    exe=takos-apply; [ "$os" = windows ] && exe=takos-apply.exe
    name="takos-apply_${version}_${os}_${arch}"
    dir="$stage/$name"
    mkdir -p "$dir"
    echo "-- $p"
    GOOS="$os" GOARCH="$arch" TAKOS_APPLY_INSTALLER=release scripts/build.sh "$dir/$exe" "$version"
    cp README.md "$dir/"
    [ -f LICENSE ] && cp LICENSE "$dir/"
    chmod 0755 "$dir/$exe"
    find "$dir" -type f ! -name "$exe" -exec chmod 0644 {} +
    find "$dir" -exec touch -h -d "@$epoch" {} +
    printf '%s  %s/%s\n' "$(sha256 "$dir/$exe")" "$name" "$exe" >> "$out/binaries.sha256.tmp"
    # Same bytes from the same files: sorted names, fixed owner, mode and
    # mtime, no gzip timestamp; zip without extra fields, times in UTC.
    if [ "$os" = windows ]; then
      archive="$name.zip"
      rm -f "$out/$archive"
      (cd "$dir" && LC_ALL=C find . -type f | LC_ALL=C sort | sed 's|^\./||' | TZ=UTC zip -X -q -9 "$out/$archive" -@)
    else
      archive="$name.tar.gz"
      (cd "$dir" && LC_ALL=C find . -type f | LC_ALL=C sort | sed 's|^\./||' |
        tar --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=ustar --no-recursion -cf - -T -) |
        gzip -n -9 > "$out/$archive"
    fi
    printf '%s  %s\n' "$(sha256 "$out/$archive")" "$archive" >> "$out/checksums.txt.tmp"
  done
  LC_ALL=C sort -k2 "$out/checksums.txt.tmp" > "$out/checksums.txt" && rm "$out/checksums.txt.tmp"
  LC_ALL=C sort -k2 "$out/binaries.sha256.tmp" > "$out/binaries.sha256" && rm "$out/binaries.sha256.tmp"
  sbom "$version" "$stage"/*/takos-apply* > "$out/takos-apply_${version}.sbom.cdx.json"
  echo "wrote $out: $(wc -l < "$out/checksums.txt") archives, checksums.txt, binaries.sha256, SBOM"
}

# sbom VERSION BINARY...: a CycloneDX 1.5 SBOM of the Go modules compiled
# into the binaries (read back from them with `go version -m`), with no
# timestamp or random serial so that it is reproducible too.
sbom() {
  local version="$1"; shift
  local mods gover
  gover="$(go version "$1" | awk '{print $NF}')"
  mods="$(for b in "$@"; do go version -m "$b"; done | awk -F'\t' '$2 == "dep" || $2 == "=>" {print $3 "\t" $4}' | LC_ALL=C sort -u)"
  printf '{\n  "bomFormat": "CycloneDX",\n  "specVersion": "1.5",\n  "version": 1,\n'
  printf '  "metadata": {\n    "component": {"type": "application", "name": "takos-apply", "version": "%s", "purl": "pkg:golang/github.com/takos-dev/takos-apply@v%s"}\n  },\n' "$version" "$version"
  printf '  "components": [\n'
  printf '    {"type": "library", "name": "stdlib", "version": "%s", "purl": "pkg:golang/stdlib@%s"}' "$gover" "$gover"
  local path ver
  while IFS=$'\t' read -r path ver; do
    [ -n "$path" ] || continue
    printf ',\n    {"type": "library", "name": "%s", "version": "%s", "purl": "pkg:golang/%s@%s"}' "$path" "$ver" "$path" "$ver"
  done <<< "$mods"
  printf '\n  ]\n}\n'
}

# readme_versions VERSION: point the README's snippets at release VERSION:
# pre-commit's rev, go install's @vX.Y.Z, release download URLs and archive
# names, and the major tag of `uses: takos-dev/takos-apply@vN`.
readme_versions() {
  local v="$1" major="${1%%.*}" sv='[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?'
  sed -E -i.bak \
    -e "s#^v=$sv( |\$)#v=$v\2#" \
    -e "s#(rev: )v$sv#\1v$v#g" \
    -e "s#(takos-apply(/cmd/takos-apply)?@)v$sv#\1v$v#g" \
    -e "s#(releases/download/)v$sv/#\1v$v/#g" \
    -e "s#(takos-apply_)$sv(_[a-z]+_[a-z0-9]+\.)#\1$v\3#g" \
    -e "s#(uses: takos-dev/takos-apply@)v[0-9]+([^.0-9]|\$)#\1v$major\2#g" \
    README.md
  rm -f README.md.bak
}

check() {
  local out="${1:?usage: scripts/release.sh check OUTDIR}" f bad=0
  for f in checksums.txt binaries.sha256; do
    [ -f "dist/$f" ] || die "dist/$f is missing: this commit was not made by scripts/release.sh VERSION"
    if ! diff -u "dist/$f" "$out/$f"; then
      echo "scripts/release.sh: $out/$f differs from the pinned dist/$f (above): the build is not reproducible here (same Go as dist/go-version?)" >&2
      bad=1
    fi
  done
  [ "$bad" = 0 ] || exit 1
  echo "the archives in $out are byte for byte the ones pinned in dist/"
}

prepare() {
  local version="$1" tag next out
  [[ "$version" =~ $semver ]] || die "'$version' is not semver (MAJOR.MINOR.PATCH[-PRE])"
  tag="v$version"
  if ! git diff --quiet || ! git diff --cached --quiet; then die "the work tree has changes: commit or stash them first"; fi
  if git rev-parse -q --verify "refs/tags/$tag" >/dev/null; then die "tag $tag exists already"; fi
  echo "$version" > VERSION
  readme_versions "$version"
  git add VERSION README.md
  git commit -q -m "Release $tag"
  out="$root/.release/$tag"
  rm -rf "$out"
  build "$out" --version "$version"
  mkdir -p dist
  cp "$out/checksums.txt" "$out/binaries.sha256" dist/
  go env GOVERSION | sed 's/^go//' > dist/go-version
  git add dist
  git commit -q -m "Pin the SHA-256 of the $tag archives in dist/

The action verifies the binary it downloads against these before running
it; the release workflow rebuilds at this tag and checks the same bytes."
  git tag -a "$tag" -m "takos-apply $tag"
  next="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.$((BASH_REMATCH[3] + 1))-dev"
  [ -n "${BASH_REMATCH[4]}" ] && next="$version.dev"
  echo "$next" > VERSION
  git add VERSION
  git commit -q -m "Begin $next: unreleased commits build from source"
  echo "released $tag locally (archives in $out). Publish with:"
  echo "  git push origin HEAD $tag"
}

case "${1:-}" in
  build) shift; build "$@" ;;
  check) shift; check "$@" ;;
  ""|-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ; [ -n "${1:-}" ] ;;
  -*) die "unknown flag $1" ;;
  *) [ $# -eq 1 ] || die "usage: scripts/release.sh VERSION"; prepare "$1" ;;
esac
