#!/usr/bin/env bash
# The figures behind deploy/kubernetes' memory request and limit: the image's RSS idle, and its peak
# (VmHWM) after a bounded load on loopback (autocannon: 50 connections, 30 s, a six-id query), on
# the embedded emulator in production mode. Usage: deploy/container/measure-memory.sh [tag]
set -euo pipefail
cd "$(dirname "$0")/../.."
tag="${1:-localhost/appfabric-subgraph:latest}"
port="${PORT:-4790}"
name="appfabric-subgraph-memory-$$"
hard_n="$(ulimit -Hn)"; hard_u="$(ulimit -Hu)"
nofile=$(( hard_n < 16384 ? hard_n : 16384 )); nproc=$(( hard_u < 4096 ? hard_u : 4096 ))
trap 'podman rm --force --ignore "$name" > /dev/null' EXIT
podman run --detach --name "$name" --runtime "${CONTAINER_RUNTIME:-runc}" --network host --read-only --cap-drop ALL \
  --ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc" \
  --env APPFABRIC_EMULATOR=true --env "PORT=$port" --env LOG_LEVEL=warn "$tag" > /dev/null
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" > /dev/null && break; sleep 0.2; done
rss() { podman exec "$name" sh -c "grep -E '^($1):' /proc/1/status" | awk '{printf "%s %d MiB  ", $1, $2/1024}'; }
echo "idle:       $(rss 'VmRSS')"
# shellcheck disable=SC2016 # $ids is GraphQL, not shell
body='{"query":"query($ids:[ID!]!){userAccessTasks(ids:$ids){taskId app resultStatus userFullName email taskError{errorCode}}}","variables":{"ids":["3f0c9e5e-6b1d-4b8a-9a55-2f4c1d0e7a21","7c1a2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","b2e4d6f8-1a3c-4e5b-9d7f-0a2c4e6b8d01","c3d5e7f9-2b4d-4f6a-8e0b-1c3e5a7c9e12","d4e6f8a0-3c5e-4a7b-9f1c-2d4f6b8d0f23","e5f7a9b1-4d6f-4b8c-8a2d-3e5a7c9e1a34"]}}'
npx autocannon --connections 50 --duration 30 --method POST --headers content-type=application/json --body "$body" \
  "http://127.0.0.1:$port/" 2>&1 | grep -E "requests in|Req/Sec" | tail -2
echo "after load: $(rss 'VmRSS|VmHWM')"
