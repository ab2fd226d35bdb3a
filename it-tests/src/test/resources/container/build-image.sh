#!/usr/bin/env bash
# Builds the local Docker image the container tests run in, without pulling anything from a registry:
# a Debian bookworm root made by `debootstrap --variant=minbase` with a Java 17 runtime, iproute2, ping and
# python3 (the kernel-side client), imported with `docker import`. The examples jar is not in the image: the
# tests copy the freshly built jar into each container.
#
#   bash build-image.sh [--print-tag] [TAG]
#
# TAG defaults to usertcp-test:<first 12 hex digits of this script's sha256>, so an edit to the package list
# makes a new image. With --print-tag it only prints that tag. The root file system is cached as a tarball
# in $USERTCP_ROOTFS_CACHE (default /var/cache/usertcp-test), so a second build only re-imports it; the first
# needs root, debootstrap and Debian's mirror ($USERTCP_DEBIAN_MIRROR, default http://deb.debian.org/debian).
# Every image it makes carries the label io.usertcp.test=true (.ci/run removes those afterwards).
set -euo pipefail

self="${BASH_SOURCE[0]}"
key=$(sha256sum "$self" | cut -c1-12)
tag="usertcp-test:$key"
print_only=false
for a in "$@"; do
    case "$a" in
        --print-tag) print_only=true ;;
        -*) echo "build-image.sh: unknown option $a" >&2; exit 2 ;;
        *) tag="$a" ;;
    esac
done
if $print_only; then
    echo "$tag"
    exit 0
fi

log() { echo "[build-image] $*" >&2; }

if docker image inspect "$tag" >/dev/null 2>&1; then
    log "image $tag exists"
    exit 0
fi

cache="${USERTCP_ROOTFS_CACHE:-/var/cache/usertcp-test}"
mirror="${USERTCP_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite=bookworm
packages=openjdk-17-jre-headless,iproute2,iputils-ping,python3,procps
tarball="$cache/rootfs-$key.tar"

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9 # one build at a time; a second caller waits and then finds the tarball

if [ ! -s "$tarball" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        log "building the root file system needs root (debootstrap): run as root, or build the image once with" \
            "sudo bash $self"
        exit 1
    fi
    if ! command -v debootstrap >/dev/null 2>&1; then
        log "debootstrap is missing: apt-get install debootstrap"
        exit 1
    fi
    start=$(date +%s)
    root=$(mktemp -d "$cache/rootfs-build.XXXXXX")
    trap 'rm -rf --one-file-system "$root"' EXIT
    keyring=()
    [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] \
        && keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
    log "debootstrap $suite from $mirror into $root (packages: $packages)"
    debootstrap --variant=minbase "${keyring[@]}" --include="$packages" "$suite" "$root" "$mirror" \
        > "$cache/debootstrap.log" 2>&1 || {
            log "debootstrap failed; the end of $cache/debootstrap.log:"
            tail -n 30 "$cache/debootstrap.log" >&2
            exit 1
        }
    # Not needed at run time: package lists and caches, documentation, locales.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
           "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log \
           "$root"/usr/share/locale/*
    # java needs /proc (for $ORIGIN in its library path): a private mount namespace leaves no mount behind.
    if ! out=$(unshare --mount --pid --fork --mount-proc="$root/proc" chroot "$root" /usr/bin/java -version 2>&1); then
        log "the root file system has no working java: $out"
        exit 1
    fi
    tar --numeric-owner --one-file-system -C "$root" -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    # Older tarballs (from earlier versions of this script) are not used any more.
    find "$cache" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-$key.tar" -delete
    log "root file system $tarball ($(du -h "$tarball" | cut -f1)) built in $(( $(date +%s) - start )) s"
fi

start=$(date +%s)
docker import \
    --change 'LABEL io.usertcp.test=true' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["sleep", "infinity"]' \
    "$tarball" "$tag" >/dev/null
log "image $tag imported in $(( $(date +%s) - start )) s"
