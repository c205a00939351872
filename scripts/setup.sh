#!/usr/bin/env bash
# Installs what podnet needs when it is missing (Debian packages, npm packages) and builds
# dist/podnet when the sources changed. Fast when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

# Debian packages: iproute2/util-linux (ip, nsenter), nftables and conntrack (services, masquerade,
# `podnet trace`), iputils-ping (the icmp probe of `podnet trace`),
# the reference CNI plugins (interop tests, benchmark anchor), iperf3, etcd (datastore), GNU time,
# containerd with runc and busybox-static (the CRI test, its images built from busybox), podman
# (the podman test; runc named, as podman would otherwise pull in crun), chromium (the map page's
# browser tests and screenshots, driven by playwright-core), dnsmasq-base (the lab's outside DNS
# server, bench:dns's anchor), dnsperf (bench:dns's load) and bird2 (the bgp backend's BGP speaker,
# run by the agent in its node's namespace, and the lab router's).
DEB_PACKAGES=(iproute2 util-linux nftables conntrack iputils-ping containernetworking-plugins iperf3 etcd-server time procps containerd runc busybox-static podman chromium dnsmasq-base dnsperf bird2)
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then log "missing Debian packages: ${missing[*]} (run as root to install them)"; exit 1; fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # bird2's maintainer scripts start a system BIRD (sysv or systemd) whose packaged config syncs
  # the root namespace's kernel tables: deny every service start while installing (policy-rc.d is
  # honoured by invoke-rc.d and deb-systemd-invoke), and only then install.
  policy=/usr/sbin/policy-rc.d
  own_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && own_policy=1
  fi
  rc=0
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || rc=$?
  if [ -n "$own_policy" ]; then rm -f "$policy"; fi
  [ "$rc" = 0 ] || exit "$rc"
  # Debian's etcd-server package may start a system etcd; podnet starts its own on loopback.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now etcd >/dev/null 2>&1 || true; fi
  # Debian's containerd package starts a system containerd; the CRI test runs its own in a namespace.
  if [[ " ${missing[*]} " == *" containerd "* ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now containerd >/dev/null 2>&1 || true
  fi
fi
# Never a system BIRD: podnet runs its own in network namespaces.
if dpkg-query -W -f='${Status}' bird2 2>/dev/null | grep -q "install ok installed"; then
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now bird.service >/dev/null 2>&1 || true
    systemctl mask bird.service >/dev/null 2>&1 || true
  fi
  if [ -e /etc/init.d/bird ] && command -v update-rc.d >/dev/null 2>&1; then update-rc.d bird disable >/dev/null 2>&1 || true; fi
  root_ns=$(readlink /proc/self/ns/net)  # setup runs in the machine's own namespace
  for pid in $(pgrep -x bird || true); do
    if [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$root_ns" ]; then
      log "a BIRD (pid $pid) runs in the root network namespace: stop it (podnet runs its own in namespaces)"; exit 1
    fi
  done
fi

if ! command -v npm >/dev/null 2>&1; then log "Node.js/npm is required (apt-get install nodejs npm)"; exit 1; fi
stamp=node_modules/.podnet-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  log "installing npm packages"
  # `npm ci` trips over npm 11 lockfiles that omit other platforms' optional packages.
  npm install --no-audit --no-fund >&2
  touch "$stamp"
fi
# The bun package ships its binary through an optional dependency; its install script only
# links it. Run that script ourselves when npm skipped it.
if ! node_modules/.bin/bun --version >/dev/null 2>&1; then
  log "linking the bun binary"
  (cd node_modules/bun && node install.js >&2)
fi

if [ ! -x dist/podnet ] || [ ! -x dist/podnet-cni ] || [ -n "$(find src package.json -newer dist/podnet -print -quit)" ]; then
  log "building dist/podnet and dist/podnet-cni"
  scripts/build.sh dist/podnet
fi
