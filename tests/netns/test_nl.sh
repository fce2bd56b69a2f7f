#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The namespace and link module (user/agent/netns.c, links.c) on its own: builds
# tests/netns/nl_smoke.c against it and runs it. The driver works in a private
# mount namespace with throwaway namespaces it makes and removes itself, and
# prints one PASS/FAIL/SKIP line per check.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${BUILD:-build}/tests/netns
mkdir -p "$out"
# shellcheck disable=SC2046
gcc -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-format-truncation -O1 -g -Iuser/agent $(pkg-config --cflags libnl-route-3.0) \
	-o "$out/nl_smoke" tests/netns/nl_smoke.c user/agent/netns.c user/agent/links.c \
	$(pkg-config --libs libnl-route-3.0)
exec "$out/nl_smoke"
