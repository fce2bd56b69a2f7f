/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent: one long-running process per instance that owns DNS, the
 * conntrack GC (user/agent/ctgc.c) and berth_hostip_v1's view of the host's
 * addresses (health checks later). `berth up` starts it when
 * none runs, the instance's last `berth down` stops it, `berth agent` runs it
 * in the foreground. It keeps no state of its own: it reads state.json and
 * follows it as it changes, so it can be killed and started again at any
 * time; the datapath forwards without it.
 *
 * The CLI talks to it over /run/berth/<instance>/agent.sock: one JSON line
 * in ({"cmd": "ping" | "reload" | "stop"}), one JSON line out.
 */
#ifndef BERTH_AGENT_H
#define BERTH_AGENT_H

#include <stdbool.h>

struct instance;

struct agent_opts {
	const char *instance;	/* "host" or the host namespace name */
	bool foreground;	/* log to stderr too */
	int verbose;		/* 0 info, 1 debug */
};

/* Run the agent until it is told to stop or gets SIGTERM/SIGINT; returns an exit code. */
int agent_run(const struct agent_opts *o);

/* Make sure an agent runs for @in (start one in the background if none answers). */
int agent_ensure(const struct instance *in, bool verbose);
/* Send @cmd ("reload", "ping") to a running agent; 0 if none runs. */
int agent_notify(const struct instance *in, const char *cmd);
/*
 * Stop the instance's agent and wait until it is gone: asked over the
 * socket, then SIGTERM and SIGKILL by its pid file (checked to be an agent).
 */
int agent_stop(const struct instance *in);

#endif
