/* SPDX-License-Identifier: GPL-2.0-only */
/* Fixed-width kernel types for headers shared by BPF (vmlinux.h) and userspace (libc). */
#ifndef BERTH_TYPES_H
#define BERTH_TYPES_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifndef __cplusplus
#define BERTH_STATIC_ASSERT _Static_assert
#endif

#endif
