// SPDX-License-Identifier: GPL-2.0-only
/*
 * Manual smoke test of user/agent/netns.c and links.c; not part of `make test`.
 *
 *   nlsmoke-host-PID                          nlsmoke-ep-PID
 *   +--------------------------------+        +------------------------------+
 *   | nsd<PID>  dummy 10.250.0.1/24  |        |                              |
 *   | nsh<PID>  veth (mtu 1400) ==============  eth0 10.250.0.2/24          |
 *   |   10.250.0.2/32 dev nsh<PID>   |        |   MAC 02:42:0a:fa:00:02      |
 *   |   neigh 10.250.0.2 PERMANENT   |        |   default via 10.250.0.1     |
 *   +--------------------------------+        +------------------------------+
 *
 * The ep pings the gateway (the host answers ARP for its dummy's address on the veth)
 * and the host pings the ep, through the /32 route and the permanent neighbour.
 *
 * Build from the repository root:
 *   mkdir -p build/tests/netns && gcc -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g \
 *       -Iuser/agent $(pkg-config --cflags libnl-route-3.0) -o build/tests/netns/nl_smoke \
 *       tests/netns/nl_smoke.c user/agent/netns.c user/agent/links.c \
 *       $(pkg-config --libs libnl-route-3.0)
 * Run as root: build/tests/netns/nl_smoke [-s]
 *
 * By default the program first moves into a private mount namespace with tmpfs over
 * /run/netns and /etc/netns, so everything it makes dies with it, even on SIGKILL (an
 * empty /etc/netns may stay if there was none). -s keeps the caller's mount namespace:
 * the real /run/netns, visible to `ip netns list` in other shells, which then becomes a
 * shared mount point as after any `ip netns add`. Either way it runs `ip` and `ping`
 * (checks only, never configuration), prints one PASS/FAIL/SKIP line per check and
 * cleans up whatever happens. Exit status: 0 all passed, 1 a check failed, 2 no start.
 */
#include "links.h"
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

static const uint32_t gw_ip = IP4(10, 250, 0, 1);
static const uint32_t ep_ip = IP4(10, 250, 0, 2);
static const uint8_t ep_mac[6] = { 0x02, 0x42, 0x0a, 0xfa, 0x00, 0x02 };

static char host_ns[64], ep_ns[64], dummy[16], hveth[16], xveth[16];
static char etc_dir[128];
static bool made_etc_netns;
static int passed, failed, skipped;

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

/* "0" or "-EEXIST (File exists)" */
static const char *err_str(int err)
{
	static char buf[96];

	if (!err)
		return "0";
	snprintf(buf, sizeof(buf), "-%d (%s)", -err, strerror(-err));
	return buf;
}

static void check_err(int got, int want, const char *what)
{
	char g[96];

	snprintf(g, sizeof(g), "%s", err_str(got));
	check(got == want, "%s -> %s (want %s)", what, g, err_str(want));
}

/* Runs argv with stdout+stderr into buf; returns the exit status, or -1. */
static int run(char *buf, size_t len, const char *const argv[])
{
	size_t used = 0;
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (!pid) {
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	while (len && (n = read(pfd[0], buf + used, len - 1 - used)) > 0)
		used += n;
	if (len)
		buf[used] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Checks that `argv` prints (or, with !want, does not print) @needle. */
static void check_output(bool want, const char *needle, const char *const argv[])
{
	char out[8192], cmd[256] = "";
	int rc, i;
	bool has;

	rc = run(out, sizeof(out), argv);
	for (i = 0; argv[i]; i++) {
		strncat(cmd, argv[i], sizeof(cmd) - strlen(cmd) - 2);
		strcat(cmd, " ");
	}
	has = rc == 0 && strstr(out, needle);
	check(has == want, "`%s` %s \"%s\"", cmd, want ? "shows" : "does not show", needle);
	if (has != want)
		printf("---- rc %d, output:\n%s----\n", rc, out);
}

static void check_ping(const char *ns, const char *ip)
{
	const char *argv[] = { "ip", "netns", "exec", ns, "ping", "-c1", "-W2", ip, NULL };
	char out[4096];
	int rc;

	rc = run(out, sizeof(out), argv);
	check(rc == 0, "ping %s from %s", ip, ns);
	if (rc)
		printf("---- rc %d, output:\n%s----\n", rc, out);
}

static bool file_has(const char *path, const char *needle)
{
	char buf[4096];
	size_t n;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, needle);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* The netns inode of this thread, to check that enter/leave and create put us back. */
static ino_t self_netns(void)
{
	struct stat st;

	return stat("/proc/thread-self/ns/net", &st) ? 0 : st.st_ino;
}

/* A mount namespace of our own, with fresh tmpfs on the two directories netns.c writes. */
static int private_mounts(void)
{
	static const char *const dirs[] = { NETNS_RUN_DIR, NETNS_ETC_DIR };
	size_t i;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (mkdir(dirs[i], 0755) && errno != EEXIST)
			return -1;
		if (mount("nlsmoke", dirs[i], "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"))
			return -1;
	}
	return 0;
}

/* Idempotent: removes everything the test may have made. Also run from signal handlers. */
static void cleanup(void)
{
	char path[256];

	/* veths and the dummy die with their namespaces */
	netns_delete(ep_ns);
	netns_delete(host_ns);
	snprintf(path, sizeof(path), "%s/extra", etc_dir);
	unlink(path);
	rmdir(etc_dir);
	if (made_etc_netns) {
		umount2(NETNS_ETC_DIR, MNT_DETACH);	/* the private mode's tmpfs, if any */
		rmdir(NETNS_ETC_DIR);
	}
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Steps inside the "host" netns, through the ctxs; returns false to stop early. */
static bool test_links(struct nl_ctx *h, struct nl_ctx *e, int ep_fd)
{
	char what[128];
	uint8_t mac[6];
	int gw_if, gw_len, hveth_if, eth0_if, err;

	/*
	 * The gateway address lives on a dummy, as berth plans; kernels built without
	 * CONFIG_DUMMY get it as a /32 on lo instead (the host still answers ARP for it).
	 */
	err = link_dummy_create(h, dummy);
	if (err == -EOPNOTSUPP) {
		printf("SKIP link_dummy_create: %s (\"%s\"): no dummy driver in this kernel; "
		       "gateway on lo\n", err_str(err), nl_ctx_ext_ack(h));
		skipped++;
		gw_if = link_ifindex(h, "lo");
		gw_len = 32;
	} else {
		check_err(err, 0, "link_dummy_create");
		check_err(link_dummy_create(h, dummy), -EEXIST, "link_dummy_create again");
		gw_if = link_ifindex(h, dummy);
		gw_len = 24;
	}
	check(gw_if > 0, "gateway link ifindex = %d", gw_if);
	check_err(addr_add(h, gw_if, gw_ip, gw_len), 0, "addr_add gateway");
	check_err(addr_add(h, gw_if, gw_ip, gw_len), 0, "addr_add gateway again");

	check_err(link_veth_create(h, hveth, ep_fd, "eth0", ep_mac, 1400), 0, "link_veth_create");
	hveth_if = link_ifindex(h, hveth);
	eth0_if = link_ifindex(e, "eth0");
	check(hveth_if > 0 && eth0_if > 0, "veth ends: %s = %d, eth0 = %d (in ep)", hveth, hveth_if,
	      eth0_if);
	if (hveth_if <= 0 || eth0_if <= 0)
		return false;
	check_err(link_ifindex(h, "nosuchlink0"), -ENODEV, "link_ifindex of an absent name");
	err = link_get_mac(e, eth0_if, mac);
	check(!err && !memcmp(mac, ep_mac, 6), "link_get_mac eth0 = %02x:%02x:%02x:%02x:%02x:%02x",
	      mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);

	/* failures must leave nothing behind */
	check_err(link_veth_create(h, xveth, ep_fd, "eth0", NULL, 0), -EEXIST,
		  "link_veth_create, peer name taken in ep");
	check_err(link_ifindex(h, xveth), -ENODEV, "  ... no leftover host end");
	err = link_veth_create(h, xveth, ep_fd, "eth9", NULL, 100000);
	check_err(err, -EINVAL, "link_veth_create mtu 100000");
	check_err(link_ifindex(h, xveth), -ENODEV, "  ... no leftover host end");
	check_err(link_ifindex(e, "eth9"), -ENODEV, "  ... no leftover peer");
	check_err(link_veth_create(h, "name-of-16-chars", ep_fd, "eth9", NULL, 0), -EINVAL,
		  "link_veth_create, 15-char name limit");

	check_err(addr_add(e, eth0_if, ep_ip, 24), 0, "addr_add ep (in ep)");
	check_err(route_add_default(e, gw_ip, eth0_if), 0, "route_add_default (in ep)");
	check_err(route_add_default(e, gw_ip, eth0_if), 0, "route_add_default again");
	check_err(route_add_default(e, IP4(10, 250, 0, 3), eth0_if), -EEXIST,
		  "route_add_default, another gateway");
	check_err(route_add_host(h, ep_ip, hveth_if), 0, "route_add_host");
	check_err(route_add_host(h, ep_ip, hveth_if), 0, "route_add_host again");
	check_err(route_add_host(h, ep_ip, gw_if), -EEXIST, "route_add_host, another device");
	check_err(neigh_add_permanent(h, hveth_if, ep_ip, ep_mac), 0, "neigh_add_permanent");
	check_err(neigh_add_permanent(h, hveth_if, ep_ip, ep_mac), 0, "neigh_add_permanent again");

	snprintf(what, sizeof(what), "net/ipv4/conf/%s/forwarding", hveth);
	check_err(sysctl_write(what, "1"), 0, "sysctl_write forwarding (in host)");
	snprintf(what, sizeof(what), "/proc/sys/net/ipv4/conf/%s/forwarding", hveth);
	check(file_has(what, "1"), "%s reads 1", what);
	check_err(sysctl_write("/etc/passwd", "x"), -EINVAL, "sysctl_write outside /proc/sys");
	return true;
}

static void test_views(void)
{
	const char *hlink[] = { "ip", "-n", host_ns, "link", "show", hveth, NULL };
	const char *elink[] = { "ip", "-n", ep_ns, "link", "show", "eth0", NULL };
	const char *elo[] = { "ip", "-n", ep_ns, "link", "show", "lo", NULL };
	const char *eaddr[] = { "ip", "-n", ep_ns, "-4", "addr", "show", "eth0", NULL };
	const char *hroute[] = { "ip", "-n", host_ns, "route", "show", NULL };
	const char *eroute[] = { "ip", "-n", ep_ns, "route", "show", NULL };
	const char *hneigh[] = { "ip", "-n", host_ns, "neigh", "show", "dev", hveth, NULL };
	const char *list[] = { "ip", "netns", "list", NULL };
	char want[128];

	check_output(true, host_ns, list);
	check_output(true, ep_ns, list);
	check_output(true, "<LOOPBACK,UP,LOWER_UP>", elo);
	check_output(true, "<BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400", hlink);
	check_output(true, "<BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400", elink);
	check_output(true, "link/ether 02:42:0a:fa:00:02", elink);
	check_output(true, "inet 10.250.0.2/24 brd 10.250.0.255 scope global eth0", eaddr);
	snprintf(want, sizeof(want), "10.250.0.2 dev %s proto static scope link", hveth);
	check_output(true, want, hroute);
	check_output(true, "default via 10.250.0.1 dev eth0 proto static", eroute);
	check_output(true, "10.250.0.2 lladdr 02:42:0a:fa:00:02 PERMANENT", hneigh);
	check_ping(ep_ns, "10.250.0.1");
	check_ping(host_ns, "10.250.0.2");
}

static void test_removal(struct nl_ctx *h, struct nl_ctx *e)
{
	const char *hroute[] = { "ip", "-n", host_ns, "route", "show", NULL };
	const char *hneigh[] = { "ip", "-n", host_ns, "neigh", "show", NULL };
	int hveth_if = link_ifindex(h, hveth), eth0_if = link_ifindex(e, "eth0");
	char want[128];

	check_err(route_del_host(h, ep_ip, hveth_if), 0, "route_del_host");
	check_err(route_del_host(h, ep_ip, hveth_if), 0, "route_del_host again (absent)");
	snprintf(want, sizeof(want), "10.250.0.2 dev %s", hveth);
	check_output(false, want, hroute);
	check_err(neigh_del(h, hveth_if, ep_ip), 0, "neigh_del");
	check_err(neigh_del(h, hveth_if, ep_ip), 0, "neigh_del again (absent)");
	check_output(false, "PERMANENT", hneigh);
	check_err(addr_del(e, eth0_if, ep_ip, 24), 0, "addr_del (in ep)");
	check_err(addr_del(e, eth0_if, ep_ip, 24), 0, "addr_del again (absent)");
	check_err(link_delete(h, hveth), 0, "link_delete veth");
	check_err(link_delete(h, hveth), 0, "link_delete veth again (absent)");
	check_err(link_ifindex(e, "eth0"), -ENODEV, "  ... took the peer in ep with it");
	check_err(addr_del(e, eth0_if, ep_ip, 24), 0, "addr_del on a deleted link");
	check_err(link_delete(h, dummy), 0, "link_delete dummy");
}

int main(int argc, char **argv)
{
	const char *list[] = { "ip", "netns", "list", NULL };
	struct nl_ctx *h = NULL, *e = NULL;
	int host_fd = -1, ep_fd = -1, saved_fd = -1, err;
	bool shared_mounts = argc > 1 && !strcmp(argv[1], "-s");
	ino_t start_ns;
	struct stat st;

	if (geteuid()) {
		fprintf(stderr, "nl_smoke: needs root\n");
		return 2;
	}
	made_etc_netns = stat(NETNS_ETC_DIR, &st) != 0;
	if (!shared_mounts && private_mounts()) {
		perror("nl_smoke: private mount namespace");
		if (made_etc_netns)
			rmdir(NETNS_ETC_DIR);
		return 2;
	}
	snprintf(host_ns, sizeof(host_ns), "nlsmoke-host-%d", getpid());
	snprintf(ep_ns, sizeof(ep_ns), "nlsmoke-ep-%d", getpid());
	snprintf(dummy, sizeof(dummy), "nsd%d", getpid());
	snprintf(hveth, sizeof(hveth), "nsh%d", getpid());
	snprintf(xveth, sizeof(xveth), "nsx%d", getpid());
	snprintf(etc_dir, sizeof(etc_dir), NETNS_ETC_DIR "/%s", ep_ns);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	start_ns = self_netns();
	printf("# %s mount namespace; names %s, %s\n", shared_mounts ? "caller's" : "private",
	       host_ns, ep_ns);

	check_err(netns_create(host_ns), 0, "netns_create host");
	check_err(netns_create(ep_ns), 0, "netns_create ep");
	check(self_netns() == start_ns, "still in the starting netns after netns_create");
	check_err(netns_create(ep_ns), -EEXIST, "netns_create ep again");
	check_err(netns_create("a/b"), -EINVAL, "netns_create \"a/b\"");
	check(netns_exists(ep_ns) && !netns_exists("nlsmoke-none"), "netns_exists");
	check_err(netns_open("nlsmoke-none"), -ENOENT, "netns_open absent");
	host_fd = netns_open(host_ns);
	ep_fd = netns_open(ep_ns);
	check(host_fd >= 0 && ep_fd >= 0, "netns_open host, ep");
	if (host_fd < 0 || ep_fd < 0)
		goto out;

	err = netns_enter(host_fd, &saved_fd);
	check_err(err, 0, "netns_enter host");
	if (err)
		goto out;
	h = nl_ctx_open(-1);
	e = nl_ctx_open(ep_fd);
	check(h && e, "nl_ctx_open host (current), ep (by fd)");
	if (h && e && test_links(h, e, ep_fd)) {
		test_views();
		test_removal(h, e);
	}
	nl_ctx_close(e);
	nl_ctx_close(h);
	e = h = NULL;
	check_err(netns_leave(saved_fd), 0, "netns_leave");
	saved_fd = -1;
	check(self_netns() == start_ns, "back in the starting netns");
	{
		char path[256];

		snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s", hveth);
		check(access(path, F_OK) != 0, "%s absent outside the host netns", path);
	}

	/* /etc/netns/NAME: berth's two files go, anything else stays and is reported */
	mkdir(NETNS_ETC_DIR, 0755);
	mkdir(etc_dir, 0755);
	write_file(etc_dir, "resolv.conf", "nameserver 127.0.0.11\n");
	write_file(etc_dir, "hosts", "127.0.0.1 localhost\n");
	write_file(etc_dir, "extra", "not berth's\n");
	close(ep_fd);
	ep_fd = -1;
	check_err(netns_delete(ep_ns), -ENOTEMPTY, "netns_delete ep with a foreign file");
	check(!netns_exists(ep_ns), "  ... the netns is gone anyway");
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/extra", etc_dir);
		check(access(path, F_OK) == 0, "  ... the foreign file stays");
		unlink(path);
	}
	check_err(netns_delete(ep_ns), 0, "netns_delete ep again");
	check(access(etc_dir, F_OK) != 0, "%s removed", etc_dir);
	close(host_fd);
	host_fd = -1;
	check_err(netns_delete(host_ns), 0, "netns_delete host");
	check_err(netns_delete(host_ns), 0, "netns_delete host again (absent)");
	check(!netns_exists(host_ns), "netns_exists host is false");
	check_output(false, "nlsmoke-", list);
	check(!file_has("/proc/self/mounts", "nlsmoke-"), "no nlsmoke- mount in /proc/self/mounts");

out:
	if (saved_fd >= 0 && netns_leave(saved_fd))
		fprintf(stderr, "nl_smoke: cannot return to the starting netns\n");
	nl_ctx_close(e);
	nl_ctx_close(h);
	if (ep_fd >= 0)
		close(ep_fd);
	if (host_fd >= 0)
		close(host_fd);
	cleanup();
	printf("nl_smoke: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
