# SPDX-License-Identifier: GPL-2.0-only
# berth — one non-recursive Makefile; everything it makes goes under build/.

.DELETE_ON_ERROR:
# keep the objects of every build variant (make would delete them as intermediates)
.SECONDARY:
.DEFAULT_GOAL := all
.SUFFIXES:

BUILD      ?= build
CC         ?= cc
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed -e 's/aarch64/arm64/')
BPF_ARCH   := $(subst x86_64,x86,$(ARCH))
FUZZ_SECONDS ?= 60
# The shared/ folder beside the repository holds the compose corpus.
SHARED     ?= $(abspath ../shared)

PKGS       := yaml-0.1 json-c libbpf libnl-3.0 libnl-route-3.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || \
		echo -lyaml -ljson-c -lbpf -lelf -lz -lnl-route-3 -lnl-3)

WARN       := -Wall -Wextra -Werror -Wno-missing-field-initializers -Wno-format-truncation
# clang (fuzz targets) has no -Wformat-truncation to turn off
CLANG_WARN := $(filter-out -Wno-format-truncation,$(WARN))
CFLAGS     ?= -O2 -g
CPPFLAGS   += -D_GNU_SOURCE -Iinclude -Iuser/lib -Iuser/agent -Iuser/cli -I$(BUILD)/bpf $(PKG_CFLAGS)
# -ffile-prefix-map: the objects (and the datapath fingerprint, upgrade.h) do not
# depend on the directory the sources were built in
BPF_CFLAGS := -g -O2 --target=bpf -mcpu=v3 -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror \
		-ffile-prefix-map=$(CURDIR)=. -Ivmlinux/$(ARCH) -Iinclude -Ibpf
DEPFLAGS    = -MMD -MP
SAN        := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-9s %s\n' $(1) $(2)
endif

BPF_SRCS   := $(sort $(wildcard bpf/*.bpf.c))
BPF_OBJS   := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
SKELS      := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)
LIB_SRCS   := $(sort $(wildcard user/lib/*.c))
CLI_SRCS   := $(sort $(wildcard user/cli/*.c user/agent/*.c))
LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS   := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
ASAN_LIB   := $(LIB_SRCS:%.c=$(BUILD)/asan/%.o)
FUZZ_LIB   := $(LIB_SRCS:%.c=$(BUILD)/fuzz/%.o)

UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
BPFT_SRCS  := $(sort $(wildcard tests/bpf/test_*.c))
BPFT_BINS  := $(BPFT_SRCS:tests/bpf/%.c=$(BUILD)/tests/bpf/%)
FUZZ_SRCS  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/tests/fuzz/%)

BERTH      := $(BUILD)/berth

.PHONY: all help deps demo vmlinux test test-unit test-bpf test-cli test-netns test-fuzz fuzz clean format bench

all: $(BERTH) ## build build/berth

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | sed 's/:.*## /\t/' | expand -t 14

deps: ## install the Debian packages berth needs (idempotent)
	$(Q)tools/deps.sh

demo: deps ## berth up on a bundled exercise example in throwaway namespaces: isolation, DNS, outbound NAT, a published port, down
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BERTH=$(BERTH) tools/demo.sh

$(BERTH): $(CLI_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name berth_$* > $@

vmlinux: ## regenerate vmlinux/<arch>/vmlinux.h from this kernel's BTF
	$(call msg,GEN,vmlinux/$(ARCH)/vmlinux.h)
	$(Q)mkdir -p vmlinux/$(ARCH)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

# user objects may include the skeletons: build those first
$(BUILD)/obj/%.o: %.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -c -o $@ $<

# The library again with ASan and UBSan, for the unit tests.
$(BUILD)/asan/%.o: %.c
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -O1 -g $(SAN) $(WARN) $(DEPFLAGS) -c -o $@ $<

# And with clang's libFuzzer instrumentation, for the fuzz targets.
$(BUILD)/fuzz/%.o: %.c
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(CPPFLAGS) -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
		-fno-sanitize-recover=all $(CLANG_WARN) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(ASAN_LIB)
	$(call msg,CC-TEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -Itests/unit -O1 -g $(SAN) $(WARN) $(DEPFLAGS) -o $@ $(filter %.c %.o,$^) \
		$(PKG_LIBS) -lcmocka

# BPF tests drive the real skeletons through BPF_PROG_TEST_RUN; no user/lib in them.
$(BUILD)/tests/bpf/%: tests/bpf/%.c $(SKELS)
	$(call msg,CC-BPFT,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -Itests/bpf -O1 -g $(SAN) $(WARN) $(DEPFLAGS) -o $@ $(filter %.c %.o,$^) \
		$(PKG_LIBS) -lcmocka

# the conntrack GC against real maps: the collector alone, with the sanitizers
$(BUILD)/tests/bpf/test_ctgc: $(BUILD)/asan/user/agent/ctgc.o

$(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(CPPFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all $(CLANG_WARN) $(DEPFLAGS) -o $@ $(filter %.c %.o,$^) $(PKG_LIBS)

test: deps ## install what is missing, then run every test tier
	$(Q)$(MAKE) --no-print-directory $(BERTH) $(UNIT_BINS) $(BPFT_BINS) $(FUZZ_BINS)
	$(Q)BUILD=$(BUILD) SHARED=$(SHARED) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run.sh unit bpf cli netns fuzz

test-unit: $(UNIT_BINS) ## cmocka unit tests (with ASan and UBSan)
	$(Q)BUILD=$(BUILD) tests/run.sh unit

test-bpf: $(BPFT_BINS) ## BPF_PROG_TEST_RUN tables against the skeletons (root; else skipped)
	$(Q)BUILD=$(BUILD) tests/run.sh bpf

test-cli: $(BERTH) ## the berth binary on the examples, the corpus and invalid specs
	$(Q)BUILD=$(BUILD) SHARED=$(SHARED) tests/run.sh cli

test-netns: $(BERTH) ## berth up/down/exec in throwaway network namespaces (root; else skipped)
	$(Q)BUILD=$(BUILD) tests/run.sh netns

test-fuzz: $(FUZZ_BINS) ## replay the fuzz corpora, then fuzz each target for FUZZ_SECONDS
	$(Q)BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run.sh fuzz

fuzz: $(FUZZ_BINS) ## fuzz for longer: make fuzz FUZZ_SECONDS=600
	$(Q)BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run.sh fuzz

# The endpoint program's per-packet cost by BPF_PROG_TEST_RUN, for make bench.
$(BUILD)/bench/prog_cost: bench/prog_cost.c $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -Itests/bpf $(CFLAGS) $(WARN) $(DEPFLAGS) -o $@ $< $(PKG_LIBS)

# make bench's new-connection rate client and server: plain C, no libbpf.
$(BUILD)/bench/connrate: bench/connrate.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -o $@ $<

bench: $(BERTH) $(BUILD)/bench/prog_cost $(BUILD)/bench/connrate ## berth vs Docker's bridge + iptables (and nftables): east-west, DNS, outbound NAT, published ports (root)
	$(Q)BUILD=$(BUILD) bench/run.sh

format: ## clang-format every C source and header
	clang-format -i $$(git ls-files '*.c' '*.h')

clean: ## remove build/
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
