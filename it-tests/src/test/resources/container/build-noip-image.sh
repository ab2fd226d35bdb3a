#!/usr/bin/env bash
# Builds the test image WITHOUT iproute2 (no `ip` binary anywhere), which proves that the library configures
# its TAP device without running `ip` (issue #13): it takes the image of build-image.sh (building that first
# when missing), purges the iproute2 package in a container of it (network none, nothing pulled), checks that
# no `ip` is left, and re-imports that container's file system with `docker export | docker import`.
# A few seconds once the base image exists.
#
#   bash build-noip-image.sh [--print-tag] [TAG]
#
# TAG defaults to usertcp-test-noip:<12 hex digits from this script's and build-image.sh's sha256>. The image
# and the temporary container carry the label io.usertcp.test=true (.ci/run removes those afterwards).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
base_script="$here/build-image.sh"
key=$(cat "${BASH_SOURCE[0]}" "$base_script" | sha256sum | cut -c1-12)
tag="usertcp-test-noip:$key"
print_only=false
for a in "$@"; do
    case "$a" in
        --print-tag) print_only=true ;;
        -*) echo "build-noip-image.sh: unknown option $a" >&2; exit 2 ;;
        *) tag="$a" ;;
    esac
done
if $print_only; then
    echo "$tag"
    exit 0
fi

log() { echo "[build-noip-image] $*" >&2; }

if docker image inspect "$tag" >/dev/null 2>&1; then
    log "image $tag exists"
    exit 0
fi

base=$(bash "$base_script" --print-tag)
bash "$base_script" "$base"

start=$(date +%s)
# --force-depends: whatever might depend on iproute2 in the image, the point is that it is gone.
cid=$(docker create --label io.usertcp.test=true --network none "$base" sh -ec '
    DEBIAN_FRONTEND=noninteractive dpkg --purge --force-depends iproute2 >/dev/null
    for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
        if [ -e "$d/ip" ] || [ -L "$d/ip" ]; then echo "$d/ip is still there" >&2; exit 1; fi
    done
    if command -v ip; then echo "ip is still on the PATH" >&2; exit 1; fi
    java -version 2>&1 | head -n 1')
trap 'docker rm -f -v "$cid" >/dev/null 2>&1 || true' EXIT
if ! out=$(docker start -a "$cid" 2>&1); then
    log "removing iproute2 from $base failed: $out"
    exit 1
fi
log "iproute2 purged from $base; java still runs: $out"
docker export "$cid" | docker import \
    --change 'LABEL io.usertcp.test=true' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["sleep", "infinity"]' \
    - "$tag" >/dev/null
log "image $tag (no iproute2) imported in $(( $(date +%s) - start )) s"
