/*
 * assert.h — invariants checked in every build, and element counts the compiler computes.
 *
 * CAPP_ASSERT(cond) is for things that cannot happen unless the program itself is wrong (a
 * corrupted structure, a broken contract between two of our own modules) — never for input a
 * user, Cloud or a file can send, which gets an error code and a clear message instead. Unlike
 * <assert.h> it is never compiled out: a financial service that carries on after its own state
 * went wrong does more harm than one that stops. On failure it writes one log line
 * (event=assert.failed file=… line=… function=… expr=…) and aborts, so the core dump and the log
 * agree on where (as Redis's serverAssert does).
 *
 * COUNTOF(array) is the element count of an array, so no call passes a count as a literal that
 * can drift from its list. Passing a pointer instead of an array fails to compile.
 */
#ifndef CAPP_ASSERT_H
#define CAPP_ASSERT_H

#define CAPP_ASSERT(cond) \
    ((cond) ? (void)0 : capp_assert_failed(#cond, __FILE__, __LINE__, __func__))

_Noreturn void capp_assert_failed(const char *expr, const char *file, int line, const char *func);

/* 0, but a compile error when a is not an array (a pointer decays to itself: same type). */
#define CAPP_MUST_BE_ARRAY_(a)                                                                     \
    (sizeof(struct {                                                                               \
         int must_be_array : __builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0])) ? -1 \
                                                                                              : 1; \
     }) *                                                                                          \
     0)
#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]) + CAPP_MUST_BE_ARRAY_(a))

#endif
