#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the Debian packages from this tree and checks them with lintian.
#
#   tools/build-deb.sh [--version-suffix SUFFIX] [OUTDIR]        (default: build-deb/)
#
# --version-suffix SUFFIX builds the same tree as a higher version: the copy's debian/changelog
# gets one more entry, for the version followed by SUFFIX (0.1.0-1+t1 with SUFFIX +t1; letters,
# digits and . + ~, no hyphen, so the upstream version and its tarball stay the same), which
# upgrades the package built without it. The tree's own changelog is left as it is.
#
# The build runs in a copy, in a temporary directory, of the files git tracks or would track
# (the working tree as it is, uncommitted changes included; no build directories, no .git), so
# nothing is written next to this tree. OUTDIR receives the .deb, the source package, the
# .changes and .buildinfo files, the build log (build.log) and lintian's report (lintian.txt,
# with --pedantic and informational tags). Exit status: 0 when the build succeeded and lintian
# reported no error and no warning, 2 for a wrong option, 1 otherwise. Needs the build
# dependencies of debian/control and debhelper, dpkg-dev, fakeroot and lintian
# (tools/install-deps.sh installs them all).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

suffix=""
while [ $# -gt 0 ]; do
        case $1 in
        --version-suffix)
                [ $# -ge 2 ] || { echo "build-deb: --version-suffix needs a value" >&2; exit 2; }
                suffix=$2
                shift 2
                ;;
        --version-suffix=*)
                suffix=${1#*=}
                shift
                ;;
        --) shift; break ;;
        -*) echo "usage: $0 [--version-suffix SUFFIX] [OUTDIR]" >&2; exit 2 ;;
        *) break ;;
        esac
done
if [ -n "$suffix" ]; then
        case $suffix in
        *[!A-Za-z0-9.+~]*) echo "build-deb: --version-suffix '$suffix': only letters, digits and . + ~" >&2; exit 2 ;;
        esac
fi
out=${1:-build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The system's own tools, as in a Debian build chroot (not a python3 or meson from a user's PATH).
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
unset CFLAGS CPPFLAGS CXXFLAGS LDFLAGS MAKEFLAGS DEB_BUILD_OPTIONS DEB_BUILD_PROFILES

source_name=$(dpkg-parsechangelog -S Source)
version=$(dpkg-parsechangelog -S Version)
upstream=${version%-*}
version=$version$suffix

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nestvirt-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
src="$tmp/$source_name-$upstream"
mkdir "$src"

if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        # Tracked files that still exist, and untracked files that .gitignore does not exclude.
        git -C "$top" ls-files -z --cached --others --exclude-standard |
                xargs -0 -r sh -c 'for f; do [ -e "$f" ] || [ -L "$f" ] && printf "%s\0" "$f"; done' sh |
                tar -C "$top" --null --no-recursion -T - -cf - | tar -C "$src" -xf -
else
        tar -C "$top" --exclude=./.git --exclude='./build*' -cf - . | tar -C "$src" -xf -
fi

if [ -n "$suffix" ]; then
        # The entry is dated after the one it follows, so that the newest entry is the newest.
        when=$(date +%s)
        last=$(dpkg-parsechangelog -S Timestamp)
        [ "$when" -gt "$last" ] || when=$((last + 1))
        {
                printf '%s (%s) %s; urgency=medium\n\n' "$source_name" "$version" \
                        "$(dpkg-parsechangelog -S Distribution)"
                printf '  * Rebuild of %s as %s (tools/build-deb.sh --version-suffix %s).\n\n' \
                        "${version%"$suffix"}" "$version" "$suffix"
                printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -S Maintainer)" "$(LC_ALL=C date -u -R -d "@$when")"
                cat "$src/debian/changelog"
        } >"$src/debian/changelog.new"
        mv "$src/debian/changelog.new" "$src/debian/changelog"
        [ "$(cd "$src" && dpkg-parsechangelog -S Version)" = "$version" ] ||
                { echo "build-deb: the changelog entry for $version did not parse" >&2; exit 1; }
fi

# The upstream tarball is the tree without debian/; the source package adds debian/ to it.
tar -C "$tmp" --exclude="$source_name-$upstream/debian" --sort=name --owner=0 --group=0 \
        --numeric-owner -cJf "$tmp/${source_name}_$upstream.orig.tar.xz" "$source_name-$upstream"

# The copy has no cockpit/node_modules (git does not track it): debian/rules links the tree's.
if [ -z "${NESTVIRT_NODE_MODULES:-}" ] && [ -d "$top/cockpit/node_modules" ]; then
        NESTVIRT_NODE_MODULES=$top/cockpit/node_modules
        export NESTVIRT_NODE_MODULES
fi

echo "building $source_name $version in $src (log: $out/build.log)"
status=0
(cd "$src" && dpkg-buildpackage -us -uc) >"$out/build.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
        tail -n 40 "$out/build.log" >&2
        echo "build-deb: dpkg-buildpackage failed (exit status $status); see $out/build.log" >&2
        exit 1
fi

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
changes="${source_name}_${version}_$arch.changes"
for f in "$tmp"/*.deb "$tmp"/*.dsc "$tmp"/*.tar.* "$tmp"/*.changes "$tmp"/*.buildinfo; do
        [ -e "$f" ] && cp "$f" "$out/"
done

status=0
lintian --pedantic --display-info --fail-on error,warning "$out/$changes" >"$out/lintian.txt" 2>&1 ||
        status=$?
cat "$out/lintian.txt"
if [ "$status" -ne 0 ] || grep -q '^[EW]: ' "$out/lintian.txt"; then
        echo "build-deb: lintian reported errors or warnings (exit status $status); see $out/lintian.txt" >&2
        exit 1
fi
echo "build-deb: $(cd "$out" && ls ./*.deb | sed 's|^\./||' | tr '\n' ' ')in $out; lintian: no errors, no warnings"
