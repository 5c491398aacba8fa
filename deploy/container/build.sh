#!/usr/bin/env bash
# Builds the service's image (Containerfile) with podman, its bases first when missing.
# Usage: deploy/container/build.sh [tag, default appfabric-subgraph] ; NODE_LINE (26) picks the Node line.
# CA_BUNDLE (default: Debian's /etc/ssl/certs/ca-certificates.crt) is what npm trusts inside the
# build, for a registry behind a TLS-inspecting proxy; it is a build secret, never in a layer.
# CONTAINER_RUNTIME (e.g. runc) is passed to podman's RUN steps when set.
set -euo pipefail
cd "$(dirname "$0")/../.."
tag="${1:-appfabric-subgraph}"
line="${NODE_LINE:-26}"
bases="$(deploy/container/build-base.sh "$line")"
read -r base build_base <<< "$bases"
runtime=()
[ -n "${CONTAINER_RUNTIME:-}" ] && runtime=(--runtime "$CONTAINER_RUNTIME")
podman build "${runtime[@]}" --format docker --network host \
  --secret "id=ca-certificates,src=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" \
  --build-arg "BASE=$base" --build-arg "BUILD_BASE=$build_base" -t "$tag" -f Containerfile .
