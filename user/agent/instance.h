/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An instance is berth on one host namespace: the machine's own ("host") or
 * /run/netns/NS (--host-netns NS). Its pins live under
 * /sys/fs/bpf/berth/<instance>/, its state, lock, journal and logs under
 * /run/berth/<instance>/. /run/berth/registry.json maps each project name to
 * its instance, so project names are unique on the machine.
 */
#ifndef BERTH_INSTANCE_H
#define BERTH_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define BERTH_RUN_DIR	"/run/berth"
#define BERTH_PIN_DIR	"/sys/fs/bpf/berth"

struct instance {
	char name[256];		/* "host" or the namespace name */
	char run_dir[512];	/* /run/berth/<name> */
	char pin_dir[512];	/* /sys/fs/bpf/berth/<name> */
	int lock_fd;
	int host_netns_fd;	/* the namespace berth entered for this instance, or -1 */
	struct json_object *state;	/* state.json: what is applied */
};

/*
 * Enter the instance's host namespace (for --host-netns), create its
 * directories, take its lock (waiting for another command to finish), and
 * load its state. Returns 0 or -errno with a message printed.
 */
int instance_open(struct instance *in, const char *host_netns);
/* Release the lock; removes the directories when no project is left. */
void instance_close(struct instance *in);
/* Write state.json atomically (temporary file, fsync, rename). */
int instance_save(struct instance *in);

/* The instance of @project per the registry, copied into @inst; -ENOENT if none. */
int registry_lookup(const char *project, char *inst, size_t size);
/* Record a project; -EEXIST if it belongs to another instance (named in @other). */
int registry_add(const char *project, const char *inst, char *other, size_t size);
int registry_remove(const char *project);
/* The only project of @inst (NULL: of any instance), when there is exactly one. */
int registry_only_project(const char *inst, char *project, size_t size);

/* Mount bpffs on /sys/fs/bpf when it is absent, as Cilium does. */
int bpffs_ensure(void);

/* mkdir -p */
int mkdir_p(const char *path, unsigned mode);
/* rm -rf of a directory berth owns (symlinks are removed, not followed) */
int rm_rf(const char *path);
/* Write a whole file atomically. */
int file_write_atomic(const char *path, const char *data, size_t len);

/*
 * The next policy identity to hand out: state.json's identity_next, or above
 * every identity a project of the instance recorded, whichever is higher (at
 * least 1). Identities are never handed out twice.
 */
int64_t instance_identity_next(const struct instance *in);

#endif
