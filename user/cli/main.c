// SPDX-License-Identifier: GPL-2.0-only
/* berth: the command table, global options and spec loading shared by verbs. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "print.h"
#include "util.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.1.0"
#endif

extern char **environ;

static int do_help(struct cli *c);

static int do_version(struct cli *c)
{
	struct printer p;

	pr_init(&p, c->json, stdout);
	pr_obj_open(&p, NULL);
	pr_str(&p, "version", BERTH_VERSION);
	pr_obj_close(&p);
	pr_end(&p);
	return EXIT_OK;
}

static const struct cmd {
	const char *name;
	int (*fn)(struct cli *c);
	const char *usage;
	const char *help;
} cmds[] = {
	{ "config", do_config, "config [-f FILE] [-p PROJECT] [--json] [-v]",
	  "validate a compose file and print the model berth would apply" },
	{ "up", do_up,
	  "up [-f FILE] [-p PROJECT] [--host-netns NS] [--dns SERVER]... [--uplink IFNAME|none]\n"
	  "         [--conntrack-max N] [--nat-max N] [--json]",
	  "create or update the project's networks, endpoints and datapath" },
	{ "down", do_down, "down [-p PROJECT] [--host-netns NS]",
	  "remove everything the project made" },
	{ "ps", do_ps, "ps [-p PROJECT] [--json]", "list the project's endpoints" },
	{ "network", do_network, "network ls | network inspect NAME [-p PROJECT] [--json]",
	  "list or inspect the project's networks" },
	{ "exec", do_exec, "exec [-p PROJECT] SERVICE[.N] -- CMD [ARGS...]",
	  "run a command inside an endpoint (replica 1 unless .N)" },
	{ "logs", do_logs, "logs [-p PROJECT] SERVICE[.N]",
	  "print the output of a service's x-berth run command" },
	{ "stats", do_stats, "stats [-p PROJECT] [--json]",
	  "verdict counters of the datapath, per endpoint interface and in total" },
	{ "dns", do_dns, "dns NAME --from SERVICE[.N] [-p PROJECT] [--json]",
	  "what an endpoint's resolver would get for NAME" },
	{ "port", do_port, "port SERVICE[.N] [PORT[/PROTO]] [-p PROJECT] [--json]",
	  "a service's published ports, like docker port" },
	{ "agent", do_agent, "agent [--host-netns NS] [-v]",
	  "run the instance's agent (DNS) in the foreground" },
	{ "version", do_version, "version [--json]", "print berth's version" },
	{ "help", do_help, "help [COMMAND]", "show this help, or one command's" },
};

static void usage(FILE *f)
{
	fputs("usage: berth [OPTIONS] COMMAND [ARGS...]\n\n"
	      "eBPF container networking from a docker-compose file.\n\ncommands:\n",
	      f);
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fputs("\noptions (before or after the command, up to --):\n"
	      "  -f, --file FILE         the compose file (default: compose.yaml, compose.yml,\n"
	      "                          docker-compose.yaml or docker-compose.yml here)\n"
	      "  -p, --project-name NAME the project (default: the file's name:, else its directory)\n"
	      "      --host-netns NS     act on the instance of namespace NS (default: this host)\n"
	      "      --dns SERVER        up: upstream DNS server for names berth does not know\n"
	      "      --uplink IFNAME     up: the interface that leads outside (default: the default\n"
	      "                          route's; none: no outbound masquerade)\n"
	      "      --conntrack-max N   up: conntrack entries of a new instance (default 131072)\n"
	      "      --nat-max N         up: NAT entries of a new instance (default 65536)\n"
	      "      --from SERVICE[.N]  dns: the endpoint that asks\n"
	      "      --json              print JSON\n"
	      "  -v, --verbose           say more (config: list the keys berth ignores)\n"
	      "  -h, --help              this help\n"
	      "      --version           berth's version\n"
	      "\nexit codes: 0 ok, 1 user error, 2 system error\n",
	      f);
}

static const struct cmd *cmd_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

static int do_help(struct cli *c)
{
	const struct cmd *cmd;

	if (!c->argc) {
		usage(stdout);
		return EXIT_OK;
	}
	cmd = cmd_find(c->argv[0]);
	if (!cmd) {
		fprintf(stderr, "berth: unknown command \"%s\"\n", c->argv[0]);
		return EXIT_USER;
	}
	printf("usage: berth %s\n\n%s\n", cmd->usage, cmd->help);
	return EXIT_OK;
}

static const char *const default_files[] = {
	"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml",
};

const char *cli_compose_file(const struct cli *c)
{
	for (size_t i = 0; !c->file && i < ARRAY_SIZE(default_files); i++)
		if (!access(default_files[i], F_OK))
			return default_files[i];
	return c->file;
}

struct spec *cli_load_spec(const struct cli *c)
{
	return cli_load_spec_opts(c, NULL);
}

struct spec *cli_load_spec_opts(const struct cli *c, const struct cli_load_opts *lo)
{
	struct spec_opts o = { .project = c->project, .env = (const char *const *)environ };
	const char *file = cli_compose_file(c);
	struct ipv4_prefix *routed = NULL;
	struct diag d = { 0 };
	struct spec *s;

	if (!file) {
		pr_error(c->json, "berth: no compose file: give -f FILE (none of compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml is here)");
		return NULL;
	}
	/* without /proc/net/route IPAM cannot avoid routed subnets: say so, go on */
	if (host_routed_subnets(&routed, &o.n_routed))
		fprintf(stderr, "berth: warning: cannot read the host's routes; automatic subnets may overlap them\n");
	if (lo && lo->n_taken) {
		/* IPAM keeps automatic subnets off other projects' networks as off routes */
		routed = xrealloc(routed, (o.n_routed + lo->n_taken) * sizeof(*routed));
		memcpy(routed + o.n_routed, lo->taken, lo->n_taken * sizeof(*routed));
		o.n_routed += lo->n_taken;
	}
	o.routed = routed;
	if (lo) {
		o.project = lo->project;
		o.prior_nets = lo->prior_nets;
		o.n_prior_nets = lo->n_prior_nets;
		o.prior_addrs = lo->prior_addrs;
		o.n_prior_addrs = lo->n_prior_addrs;
	}
	s = spec_load_file(file, &o, &d);
	for (size_t i = 0; i < d.n; i++) {
		char *line;

		if (lo && lo->quiet && d.msgs[i].level != DIAG_ERROR)
			continue;
		line = diag_format(&d.msgs[i]);

		fprintf(stderr, "%s\n", line);
		free(line);
	}
	if (!s && c->json) {
		char *msg = xasprintf("%s: %zu error%s in the compose file", file, d.n_errors,
				      d.n_errors == 1 ? "" : "s");

		pr_error(true, msg);
		free(msg);
	}
	if (s && c->verbose && !(lo && lo->quiet)) {
		for (size_t i = 0; i < s->n_ignored; i++)
			fprintf(stderr, "%s:%d:%d: note: ignored %s\n", s->file, s->ignored[i].loc.line,
				s->ignored[i].loc.col, s->ignored[i].path);
	}
	diag_free(&d);
	free(routed);
	return s;
}

/* A map size option: a decimal integer within the bounds of x-berth's. */
static int map_size_arg(const char *opt, const char *arg, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (!isdigit((unsigned char)*arg) || *end || errno) {
		fprintf(stderr, "berth: %s %s: not a number\n", opt, arg);
		return -1;
	}
	if (v < SPEC_MAP_SIZE_MIN || v > SPEC_MAP_SIZE_MAX) {
		fprintf(stderr, "berth: %s %s: must be %d to %d\n", opt, arg, SPEC_MAP_SIZE_MIN,
			SPEC_MAP_SIZE_MAX);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "project-name", required_argument, NULL, 'p' },
		{ "host-netns", required_argument, NULL, 'N' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "dns", required_argument, NULL, 'D' },
		{ "from", required_argument, NULL, 'F' },
		{ "uplink", required_argument, NULL, 'U' },
		{ "conntrack-max", required_argument, NULL, 'C' },
		{ "nat-max", required_argument, NULL, 'M' },
		{ 0 },
	};
	struct cli c = { 0 };
	const struct cmd *cmd;
	bool help = false, version = false;
	int opt;

	/* GNU getopt permutes: options may come before or after the verb, up to "--" */
	while ((opt = getopt_long(argc, argv, "f:p:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (c.file) {
				fprintf(stderr, "berth: -f given twice: berth reads one compose file\n");
				return EXIT_USER;
			}
			c.file = optarg;
			break;
		case 'p':
			c.project = optarg;
			break;
		case 'N':
			/* "host" names the machine's own instance: never a namespace by that name */
			if (!strcmp(optarg, "host")) {
				fprintf(stderr, "berth: --host-netns host: \"host\" is the machine's own instance; leave --host-netns out for it\n");
				return EXIT_USER;
			}
			c.host_netns = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'D': {
			struct in_addr a;

			if (inet_pton(AF_INET, optarg, &a) != 1) {
				fprintf(stderr, "berth: --dns %s: not an IPv4 address\n", optarg);
				return EXIT_USER;
			}
			if (c.n_dns == ARRAY_SIZE(c.dns)) {
				fprintf(stderr, "berth: at most %zu --dns servers\n", ARRAY_SIZE(c.dns));
				return EXIT_USER;
			}
			c.dns[c.n_dns++] = optarg;
			break;
		}
		case 'F':
			c.from = optarg;
			break;
		case 'U':
			if (!*optarg) {
				fprintf(stderr, "berth: --uplink needs an interface name, or none\n");
				return EXIT_USER;
			}
			c.uplink = optarg;
			break;
		case 'C':
		case 'M':
			if (map_size_arg(opt == 'C' ? "--conntrack-max" : "--nat-max", optarg,
					 opt == 'C' ? &c.ct_max : &c.nat_max))
				return EXIT_USER;
			break;
		case 'v':
			c.verbose++;
			break;
		case 'h':
			help = true;
			break;
		case 'V':
			version = true;
			break;
		default:
			fprintf(stderr, "berth: try 'berth help'\n");
			return EXIT_USER;
		}
	}
	if (version)
		return do_version(&c);
	if (optind >= argc) {
		usage(help ? stdout : stderr);
		return help ? EXIT_OK : EXIT_USER;
	}
	cmd = cmd_find(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "berth: unknown command \"%s\"; try 'berth help'\n", argv[optind]);
		return EXIT_USER;
	}
	c.argc = argc - optind - 1;
	c.argv = argv + optind + 1;
	if (help) {
		printf("usage: berth %s\n\n%s\n", cmd->usage, cmd->help);
		return EXIT_OK;
	}
	return cmd->fn(&c);
}
