#!/usr/bin/env bash
# Tests the release process end to end on this machine, as CI runs it
# (.ci/run), without publishing anything:
#   1. scripts/release.sh cuts the release the README names in a clone of
#      this repository (commits, pinned dist/, tag, next -dev VERSION);
#   2. a second clone at another path rebuilds every platform at that tag
#      and must produce the very bytes pinned in dist/ (reproducible), and
#      one platform is rebuilt again with an empty Go build cache;
#   3. the README's pre-commit snippet runs with real pre-commit against
#      the clone (both hooks), passing on a good manifest, failing on a bad;
#   4. the binary is built the way the Dockerfile builds it: from a copy of
#      the context .dockerignore leaves, without .git.
# (.dockerignore patterns are matched from the context root, as Docker does.)
# Needs git, Go, tar, gzip, zip, unzip and pre-commit (Debian: apt-get install
# pre-commit). Uses only local paths; the Go module proxy is the only
# network access (pre-commit's go install downloads modules).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GIT_AUTHOR_NAME=release-test GIT_AUTHOR_EMAIL=release-test@localhost
export GIT_COMMITTER_NAME=release-test GIT_COMMITTER_EMAIL=release-test@localhost
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
fail() { echo "release-test: FAIL: $*" >&2; exit 1; }
pass=0
ok() { echo "release-test: ok: $*"; pass=$((pass + 1)); }

if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
  echo "release-test: the work tree has uncommitted changes; testing the last commit ($(git -C "$root" rev-parse --short HEAD))" >&2
fi
rev="$(sed -nE 's/^ *rev: (v[0-9]+\.[0-9]+\.[0-9]+)$/\1/p' "$root/README.md" | head -1)"
[ -n "$rev" ] || fail "README has no pre-commit rev: vX.Y.Z"

echo "== release $rev in a clone"
a="$work/a"
git clone -q "$root" "$a"
if git -C "$a" rev-parse -q --verify "refs/tags/$rev" >/dev/null; then
  echo "$rev exists already; testing it"
else
  want_dev="${rev#v}-dev"
  [ "$(cat "$a/VERSION")" = "$want_dev" ] || fail "README names $rev, VERSION is $(cat "$a/VERSION") (want $want_dev)"
  (cd "$a" && scripts/release.sh "${rev#v}") > "$work/release.log" 2>&1 || { cat "$work/release.log"; fail "scripts/release.sh ${rev#v}"; }
  tail -2 "$work/release.log"
  [ "$(git -C "$a" show "$rev:VERSION")" = "${rev#v}" ] || fail "VERSION at $rev is not ${rev#v}"
  next="$(cat "$a/VERSION")"
  if [[ "$next" != *-dev ]] || [ "$next" = "${rev#v}-dev" ]; then fail "VERSION after the release is $next, want the next -dev version"; fi
  [ "$(git -C "$a" log -1 --format=%s "$rev")" = "Pin the SHA-256 of the $rev archives in dist/" ] || fail "$rev does not point at the pinning commit"
  git -C "$a" diff --quiet "$rev^" "$rev" -- . ':(exclude)dist' || fail "the pinning commit changes more than dist/"
  # grep reads the whole README (no -q): with pipefail, grep -q closing the
  # pipe early makes git show die of SIGPIPE once the README outgrows the pipe.
  git -C "$a" show "$rev:README.md" | grep "rev: $rev\$" >/dev/null || fail "README at $rev does not name $rev"
  ok "scripts/release.sh ${rev#v}: release commit, pinned dist/, tag $rev, VERSION $next after it"
fi
n="$(git -C "$a" show "$rev:dist/checksums.txt" | wc -l)"
[ "$n" -eq 6 ] || fail "dist/checksums.txt at $rev lists $n archives, want 6"

echo "== rebuild at $rev elsewhere: same bytes"
b="$work/other/path/b"
git clone -q "$a" "$b"
git -C "$b" checkout -q "$rev"
(cd "$b" && scripts/release.sh build "$work/out-b" >/dev/null && scripts/release.sh check "$work/out-b")
ok "all 6 archives rebuilt in another checkout are byte-identical to the pinned ones"
(cd "$b" && GOCACHE="$work/cold-gocache" scripts/release.sh build "$work/out-cold" --platforms linux/amd64 >/dev/null)
grep -F "$(grep _linux_amd64.tar.gz "$work/out-cold/checksums.txt")" "$b/dist/checksums.txt" >/dev/null ||
  fail "linux/amd64 built with an empty Go cache differs from the pinned archive"
chmod -R u+w "$work/cold-gocache" 2>/dev/null || true
ok "linux/amd64 rebuilt with an empty Go build cache is byte-identical too"
(cd "$work/out-b" && sha256sum -c --quiet checksums.txt) || fail "sha256sum -c checksums.txt (the README's check by hand)"
for z in "$work/out-b"/*_windows_*.zip; do
  mkdir -p "$work/unzip" && unzip -q -o "$z" -d "$work/unzip"
  name="$(basename "$z" .zip)"
  grep -qx "$(sha256sum "$work/unzip/takos-apply.exe" | cut -d' ' -f1)  $name/takos-apply.exe" "$b/dist/binaries.sha256" ||
    fail "takos-apply.exe in $name.zip is not the one pinned in dist/binaries.sha256"
  rm -rf "$work/unzip"
done
ok "sha256sum -c passes, and the Windows zips hold the pinned takos-apply.exe"
tar -xzf "$work/out-b/takos-apply_${rev#v}_linux_amd64.tar.gz" -C "$work" takos-apply
"$work/takos-apply" version | grep -qx "takos-apply ${rev#v}" || fail "the released binary does not say ${rev#v}"
"$work/takos-apply" version | grep -qx "installed: release archive (scripts/release.sh)" || fail "the released binary does not say it is a release archive"

echo "== the README's pre-commit snippet, with real pre-commit"
command -v pre-commit >/dev/null || fail "pre-commit is not installed (Debian: apt-get install pre-commit)"
p="$work/project"
mkdir -p "$p/.takos"
cp "$root/examples/hello/.takos/app.yml" "$p/.takos/app.yml"
# The snippet as the README shows it, with the clone in place of GitHub.
awk '/^# \.pre-commit-config\.yaml$/ {on = 1} on && /^```$/ {exit} on' "$root/README.md" |
  sed "s#https://github.com/takos-dev/takos-apply#$a#" > "$p/.pre-commit-config.yaml"
grep -q "rev: $rev" "$p/.pre-commit-config.yaml" || fail "could not extract the pre-commit snippet"
git -C "$p" init -q && git -C "$p" add -A && git -C "$p" commit -q -m init
export PRE_COMMIT_HOME="$work/pre-commit-home"
(cd "$p" && pre-commit run --all-files) > "$work/pc.log" 2>&1 || { cat "$work/pc.log"; fail "pre-commit on a good manifest"; }
grep -q 'takos-apply lint.*Passed' "$work/pc.log" || { cat "$work/pc.log"; fail "the hook did not run"; }
ok "pre-commit installs $rev from the clone (language: golang) and passes a good manifest"
printf 'apiVersion: takos.dev/v1alpha1\nkind: App\nmetadata:\n  name: Bad_Name\n' > "$p/.takos/app.yml"
if (cd "$p" && pre-commit run --all-files) > "$work/pc-bad.log" 2>&1; then
  cat "$work/pc-bad.log"; fail "pre-commit passed a bad manifest"
fi
grep -q '\.takos/app\.yml:[0-9]*:[0-9]*: error' "$work/pc-bad.log" || { cat "$work/pc-bad.log"; fail "no file:line:col error from the hook"; }
ok "the hook fails a bad manifest with file:line:col"
sed -i 's/id: takos-apply-lint .*/id: takos-apply-lint-system/; s/id: takos-apply-lint$/id: takos-apply-lint-system/' "$p/.pre-commit-config.yaml"
grep -q 'id: takos-apply-lint-system' "$p/.pre-commit-config.yaml" || fail "could not switch to the system hook"
if (cd "$p" && PATH="$work:$PATH" pre-commit run --all-files) > "$work/pc-sys.log" 2>&1; then
  cat "$work/pc-sys.log"; fail "the system hook passed a bad manifest"
fi
grep -q 'error' "$work/pc-sys.log" || { cat "$work/pc-sys.log"; fail "the system hook did not lint"; }
ok "takos-apply-lint-system runs the release binary on PATH"

echo "== the Docker build's context: no .git, same script"
ctx="$work/docker-context"
mkdir -p "$ctx"
(cd "$a" && git ls-files -z | tar --anchored --exclude-from=<(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' .dockerignore) --null -T - -cf - ) | tar -xf - -C "$ctx"
if [ -e "$ctx/.git" ] || [ -e "$ctx/.github" ] || [ ! -f "$ctx/go.mod" ]; then fail ".dockerignore context is wrong"; fi
(cd "$ctx" && TAKOS_APPLY_INSTALLER=docker scripts/build.sh "$work/docker-takos-apply")
"$work/docker-takos-apply" version | grep -qx 'installed: Docker image (Dockerfile)' || fail "docker build does not say so in version"
"$work/docker-takos-apply" lint "$ctx/examples/hello" >/dev/null || fail "docker-built binary cannot lint the example"
ok "built from the .dockerignore context without .git"

echo "release-test: all $pass checks passed"
