// SPDX-License-Identifier: GPL-2.0-only
/* tc ingress of the uplink: placeholder until the NAT core lands. */
#include "lib/common.h"
#include "lib/maps.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tc")
int berth_tc_uplink_ingress(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}
