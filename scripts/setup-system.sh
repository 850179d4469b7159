#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo use as real parts of a node: ostree (a real
# sysroot), etcd-server and etcd-client (a real etcd on loopback), rsync (the oracle of an exact
# copy), attr and acl (xattrs and ACLs), skopeo (container images into and out of a real
# containers-storage, for backup --images); GNU time and openssl for the bench (its timings, and
# its hash of cp -a's copy). Does nothing when they are already there.
set -euo pipefail

packages=(ostree etcd-server etcd-client rsync attr acl coreutils tar util-linux e2fsprogs bsdutils time skopeo openssl)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup-system: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-system: these packages are missing and this is not root: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Debian's etcd-server starts a system etcd on install; the tests start their own on free ports.
policy=/usr/sbin/policy-rc.d
created_policy=no
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=yes
fi
trap '[ "$created_policy" = yes ] && rm -f "$policy"' EXIT
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
}
echo "setup-system: done"
