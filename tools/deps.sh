#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Installs the Debian packages berth builds, tests and runs with. Idempotent:
# silent when everything is present, apt-get only for what is missing.
set -euo pipefail

pkgs=(
	build-essential pkg-config
	clang llvm libclang-rt-14-dev   # BPF objects; libFuzzer and sanitizers
	libbpf-dev libelf-dev zlib1g-dev bpftool   # loading, skeletons, vmlinux.h
	libnl-3-dev libnl-route-3-dev   # netlink: namespaces, links, addresses, routes
	libyaml-dev                     # the compose parser
	libjson-c-dev                   # --json output and state files
	libcmocka-dev                   # unit tests
	iproute2 iputils-ping netcat-openbsd curl iperf3 sockperf   # integration tests, bench
	dnsutils dnsmasq-base dnsperf   # DNS tests (dig, nslookup, a test upstream) and bench
	python3 python3-yaml            # test helpers: JSON and YAML checks of berth config
	iptables nftables               # bench baselines (Docker's rules; nft dnat maps)
)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "tools/deps.sh: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "tools/deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
