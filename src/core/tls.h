// Thread-local variables of libstrata on the fast path of every op.
#pragma once

/// initial-exec TLS: a direct %fs-relative access instead of a __tls_get_addr
/// call per use (the default for a shared library). Only for trivial,
/// constant-initialized variables (others need a guard variable that is still
/// reached through __tls_get_addr) of a few bytes: they come out of the static
/// TLS surplus that glibc keeps for libraries loaded with dlopen.
#if defined(__GNUC__)
#define STRATA_TLS_INITIAL_EXEC __attribute__((tls_model("initial-exec")))
#else
#define STRATA_TLS_INITIAL_EXEC
#endif
