# llmkit - build, test, demo, bench, install.
#
# Layout (B=build by default; `make B=DIR` builds elsewhere):
# lib/*.c -> build/libllm.a; cmd/llm-*.c -> build/bin/llm-*;
# tests/unit/test_*.c -> build/tests/test_*; tests/bin/*.c -> build/tests/bin/*.
# New files in those folders are picked up without editing this file.

CC      ?= cc
NVCC    ?= nvcc
CFLAGS  ?= -O2 -g
PREFIX  ?= /usr/local
DESTDIR ?=

WARN    = -Wall -Wextra -Werror
CPPFLAGS += -D_GNU_SOURCE -Ilib $(shell pkg-config --cflags ompi-c 2>/dev/null)
XCFLAGS = -std=c11 $(WARN) $(CFLAGS) -pthread -MMD -MP
# Every Debian library the project links; --as-needed drops the ones a
# given program does not use.
LIBS    = -Wl,--as-needed -ljansson -lzstd -lz -lxxhash -lpcre2-8 -lutf8proc \
	  -lgumbo -lcurl -lopenblas -lbz2 -lmpi -lm -lpthread
TESTLIBS = -lcmocka

B = build
LIB_SRC   := $(wildcard lib/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/obj/%.o)
PROGS     := $(patsubst cmd/%.c,$(B)/bin/%,$(wildcard cmd/llm-*.c))
UNIT      := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
TESTBIN   := $(patsubst tests/bin/%.c,$(B)/tests/bin/%,$(wildcard tests/bin/*.c))
CUDA_SRC  := $(wildcard kernels/*.cu)
MAN1      := $(wildcard man/*.1)
MAN5      := $(wildcard man/*.5)
MAN7      := $(wildcard man/*.7)

.PHONY: all deps test check-build demo bench install uninstall cuda cuda-build clean

all: $(PROGS)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(XCFLAGS) -c $< -o $@

$(B)/libllm.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(B)/bin/%: $(B)/obj/cmd/%.o $(B)/libllm.a
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $< $(B)/libllm.a $(LIBS) -o $@

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(B)/libllm.a
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $< $(B)/libllm.a $(TESTLIBS) $(LIBS) -o $@

$(B)/tests/bin/%: $(B)/obj/tests/bin/%.o $(B)/libllm.a
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $< $(B)/libllm.a $(LIBS) -o $@

# Installs missing Debian packages as root, or says what to run.
deps:
	@sh scripts/deps.sh

check-build: $(PROGS) $(UNIT) $(TESTBIN)

# Dependencies first, in their own make, so headers exist before compiling.
test:
	@sh scripts/deps.sh
	@$(MAKE) --no-print-directory check-build
	@$(MAKE) --no-print-directory -j2 cuda
	@LLM_BUILD=$(B) sh tests/run.sh

demo:
	@sh scripts/deps.sh
	@$(MAKE) --no-print-directory check-build
	@LLM_BUILD=$(B) sh pipelines/demo.sh

bench:
	@sh scripts/deps.sh
	@$(MAKE) --no-print-directory check-build
	@LLM_BUILD=$(B) sh bench/run.sh

# The CUDA build (kernels/, tests/gpu/): nvcc for sm_90 and sm_80, linked
# with cuBLASLt and NCCL.  Skipped, successfully, where nvcc is missing.
CUDA_HOME ?= /usr/local/cuda
NVFLAGS   = -O3 -std=c++17 -Ilib -Ikernels \
	    -gencode arch=compute_90,code=sm_90 -gencode arch=compute_80,code=sm_80 \
	    -Werror all-warnings -Xcompiler -Wall,-Wextra
CUDA_OBJ  := $(CUDA_SRC:kernels/%.cu=$(B)/cuda/obj/%.o)
CUDA_LIBS = -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublasLt \
	    -lcudart_static -lnccl -lstdc++ -ldl -lrt
GPU_PROGS = $(B)/cuda/gpu_check $(B)/cuda/gpu_train $(B)/cuda/gpu_matbench \
	    $(B)/cuda/nccl_check $(B)/cuda/bin/llm-train
# llm-train with the GPU engine: its front end and lib/train*.c compiled
# again with -DLLM_CUDA (struct trainer has GPU fields there, so they go
# together); the CPU build's llm-train links no CUDA.
CUDA_TRAIN_OBJ = $(B)/cuda/obj/host/cmd/llm-train.o \
		 $(patsubst %.c,$(B)/cuda/obj/host/%.o,$(wildcard lib/train*.c))

cuda:
	@if ! command -v $(NVCC) >/dev/null 2>&1; then \
		echo "cuda: $(NVCC) not found; skipping the CUDA build"; \
	else \
		$(MAKE) --no-print-directory cuda-build; \
	fi

cuda-build: $(GPU_PROGS)

# Kept between builds (make would delete them as intermediates).
.PRECIOUS: $(B)/cuda/obj/%.o $(B)/cuda/obj/tests/%.o $(B)/cuda/obj/host/%.o

# The engine reads lib/ structures (struct model): any lib header counts.
$(B)/cuda/obj/%.o: kernels/%.cu $(wildcard kernels/*.cuh kernels/*.h lib/*.h)
	@mkdir -p $(@D)
	$(NVCC) $(NVFLAGS) -c $< -o $@

$(B)/cuda/obj/tests/%.o: tests/gpu/%.cu $(wildcard kernels/*.cuh kernels/*.h lib/*.h)
	@mkdir -p $(@D)
	$(NVCC) $(NVFLAGS) -c $< -o $@

$(B)/cuda/obj/tests/%.o: tests/gpu/%.c $(wildcard kernels/*.h lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Ikernels -I$(CUDA_HOME)/include $(XCFLAGS) -c $< -o $@

$(B)/cuda/%: $(B)/cuda/obj/tests/%.o $(CUDA_OBJ) $(B)/libllm.a
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $< $(CUDA_OBJ) $(B)/libllm.a $(CUDA_LIBS) $(LIBS) -o $@

$(B)/cuda/obj/host/%.o: %.c $(wildcard kernels/*.h lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -DLLM_CUDA -Ikernels $(XCFLAGS) -c $< -o $@

$(B)/cuda/bin/llm-train: $(CUDA_TRAIN_OBJ) $(CUDA_OBJ) $(B)/libllm.a
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CUDA_TRAIN_OBJ) $(CUDA_OBJ) $(B)/libllm.a $(CUDA_LIBS) $(LIBS) -o $@

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7
	$(if $(PROGS),install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/)
	$(if $(MAN1),install -m 644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/)
	$(if $(MAN5),install -m 644 $(MAN5) $(DESTDIR)$(PREFIX)/share/man/man5/)
	$(if $(MAN7),install -m 644 $(MAN7) $(DESTDIR)$(PREFIX)/share/man/man7/)

uninstall:
	rm -f $(PROGS:$(B)/bin/%=$(DESTDIR)$(PREFIX)/bin/%) \
		$(MAN1:man/%=$(DESTDIR)$(PREFIX)/share/man/man1/%) \
		$(MAN5:man/%=$(DESTDIR)$(PREFIX)/share/man/man5/%) \
		$(MAN7:man/%=$(DESTDIR)$(PREFIX)/share/man/man7/%)

clean:
	rm -rf $(B)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
