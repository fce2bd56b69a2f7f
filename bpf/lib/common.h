/* SPDX-License-Identifier: GPL-2.0-only */
/* Includes and constants every berth BPF object starts with. */
#ifndef BERTH_BPF_COMMON_H
#define BERTH_BPF_COMMON_H

#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include <berth/drop.h>
#include <berth/maps.h>

#define ETH_HLEN	14
#define ETH_ALEN	6
#define ETH_P_IP	0x0800
#define ETH_P_ARP	0x0806
#define ETH_P_IPV6	0x86DD
#define ARPHRD_ETHER	1
#define ARPOP_REQUEST	1
#define ARPOP_REPLY	2

#define AF_INET		2
#define EEXIST		17	/* errno, as map updates return it */

#define TC_ACT_OK	0
#define TC_ACT_SHOT	2
#define TC_ACT_REDIRECT	7

#endif
