/* cuebox-rtguard: LD_PRELOAD interposer that counts allocations, locks and
 * file/socket/sleep calls made from inside a "real-time section".
 *
 * The engine's JACK process callback calls cuebox_rt_section_begin() at entry
 * and cuebox_rt_section_end() at exit (through weak symbols, so without this
 * library nothing happens). Between the two, every call of a hooked function
 * from that thread is counted, and the first call of each function is
 * recorded with its return address. Every call is forwarded to the real
 * function (dlsym(RTLD_NEXT, ...)), so behaviour does not change.
 *
 * When CUEBOX_RTGUARD_REPORT names a file, a JSON report is written there at
 * exit, when the program calls cuebox_rtguard_write_report(), and once a
 * second by a background thread (so SIGTERM/SIGKILL leave a report at most
 * about a second old). See README.md.
 *
 * Rules for this file: nothing on the hook path may allocate, lock or make a
 * syscall; report writing uses the real functions directly, never the hooks.
 *
 * GPL-3.0-or-later, part of cuebox.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TLS_IE __attribute__((tls_model("initial-exec")))

/* ---- the hooked functions ----------------------------------------------- */

/* X(name): every function counted. Order = order in the report. */
#define RTGUARD_FUNCS(X) \
    X(malloc) X(calloc) X(realloc) X(free) X(aligned_alloc) X(posix_memalign) X(memalign) X(valloc) \
    X(pthread_mutex_lock) X(pthread_mutex_trylock) X(pthread_rwlock_rdlock) X(pthread_rwlock_wrlock) \
    X(open) X(open64) X(openat) X(openat64) X(read) X(write) X(pread) X(pread64) X(pwrite) X(pwrite64) \
    X(recv) X(send) X(recvfrom) X(sendto) X(close) \
    X(fopen) X(fopen64) X(fwrite) X(fread) X(fflush) \
    X(usleep) X(nanosleep) X(sleep) X(poll) X(select) X(epoll_wait)

enum {
#define X(n) FN_##n,
    RTGUARD_FUNCS(X)
#undef X
    FN_COUNT
};

static const char* const fn_name[FN_COUNT] = {
#define X(n) #n,
    RTGUARD_FUNCS(X)
#undef X
};

typedef void (*anyfn)(void);

/* Real functions, resolved in the constructor (or lazily by the first hook
 * that runs before it). Written with release, read with acquire. */
static anyfn real_fn[FN_COUNT];

struct slot {
    unsigned long count;      /* calls inside sections */
    uintptr_t first_addr;     /* return address of the first one */
    unsigned long first_seq;  /* global order of first violations */
};
static struct slot slots[FN_COUNT];
static unsigned long first_seq_counter;
static unsigned long sections;  /* completed begin/end pairs */
static int entered;             /* any begin seen (a section may be open) */

static _Thread_local int rt_flag TLS_IE;    /* this thread is in a section */
static _Thread_local int resolving TLS_IE;  /* this thread is inside resolve_all() */
static int resolved;

/* ---- exported section markers ------------------------------------------- */

EXPORT void cuebox_rt_section_begin(void) {
    rt_flag = 1;
    if (UNLIKELY(!__atomic_load_n(&entered, __ATOMIC_RELAXED))) __atomic_store_n(&entered, 1, __ATOMIC_RELAXED);
}

EXPORT void cuebox_rt_section_end(void) {
    if (rt_flag) {
        rt_flag = 0;
        __atomic_fetch_add(&sections, 1, __ATOMIC_RELAXED);
    }
}

/* ---- counting ------------------------------------------------------------ */

__attribute__((noinline)) static void note_slow(int fn, void* ret) {
    struct slot* s = &slots[fn];
    if (__atomic_fetch_add(&s->count, 1, __ATOMIC_RELAXED) == 0) {
        __atomic_store_n(&s->first_seq, __atomic_add_fetch(&first_seq_counter, 1, __ATOMIC_RELAXED),
                         __ATOMIC_RELAXED);
        __atomic_store_n(&s->first_addr, (uintptr_t)ret, __ATOMIC_RELEASE);
    }
}

static inline void note(int fn, void* ret) {
    if (UNLIKELY(rt_flag)) note_slow(fn, ret);
}

/* ---- low-level helpers (no hooks, no allocation) ------------------------- */

static void raw_stderr(const char* s) { syscall(SYS_write, 2, s, strlen(s)); }

__attribute__((noreturn)) static void fatal(const char* what, const char* name) {
    raw_stderr("cuebox-rtguard: ");
    raw_stderr(what);
    raw_stderr(name);
    raw_stderr("\n");
    syscall(SYS_exit_group, 127);
    __builtin_unreachable();
}

/* ---- resolving the real functions ---------------------------------------- */

static void resolve_all(void) {
    if (resolving) return; /* dlsym re-entered us (e.g. via calloc) */
    resolving = 1;
    for (int i = 0; i < FN_COUNT; ++i) {
        if (__atomic_load_n(&real_fn[i], __ATOMIC_ACQUIRE)) continue;
        union { void* obj; anyfn fn; } u;
        u.obj = dlsym(RTLD_NEXT, fn_name[i]);
        if (u.obj) __atomic_store_n(&real_fn[i], u.fn, __ATOMIC_RELEASE);
    }
    resolving = 0;
    __atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
}

/* The real function, or NULL while this thread is inside dlsym(). */
static inline anyfn real_try(int fn) {
    anyfn f = __atomic_load_n(&real_fn[fn], __ATOMIC_ACQUIRE);
    if (UNLIKELY(!f)) {
        resolve_all();
        f = __atomic_load_n(&real_fn[fn], __ATOMIC_ACQUIRE);
    }
    return f;
}

static inline anyfn real_need(int fn) {
    anyfn f = real_try(fn);
    if (UNLIKELY(!f)) fatal("cannot find the real ", fn_name[fn]);
    return f;
}

#define REAL_TRY(name) ((__typeof__(name)*)real_try(FN_##name))
#define REAL(name) ((__typeof__(name)*)real_need(FN_##name))

/* ---- bootstrap allocator ------------------------------------------------- */

/* Serves allocations made while the real allocator is not known yet (dlsym
 * may call calloc/malloc). Never reused; free() ignores pointers into it. Each
 * block has its size in the 8 bytes before it (for realloc). */
static _Alignas(64) unsigned char bump_buf[128 * 1024];
static size_t bump_used;

static int in_bump(const void* p) {
    return (const unsigned char*)p >= bump_buf && (const unsigned char*)p < bump_buf + sizeof bump_buf;
}

static void* bump_alloc(size_t size, size_t align) {
    if (align < 16) align = 16;
    size_t old = __atomic_load_n(&bump_used, __ATOMIC_RELAXED);
    for (;;) {
        uintptr_t base = (uintptr_t)bump_buf;
        uintptr_t p = (base + old + 16 + align - 1) & ~(uintptr_t)(align - 1);
        size_t end = (size_t)(p - base);
        if (end > sizeof bump_buf || size > sizeof bump_buf - end) {
            raw_stderr("cuebox-rtguard: bootstrap allocator exhausted\n");
            errno = ENOMEM;
            return NULL;
        }
        size_t nused = end + size;
        if (__atomic_compare_exchange_n(&bump_used, &old, nused, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            ((size_t*)p)[-1] = size;
            return (void*)p; /* static storage, never handed out before: zeroed */
        }
    }
}

static size_t bump_size(const void* p) { return ((const size_t*)p)[-1]; }

/* ---- allocation hooks ---------------------------------------------------- */

EXPORT void* malloc(size_t n) {
    note(FN_malloc, __builtin_return_address(0));
    __typeof__(malloc)* f = REAL_TRY(malloc);
    if (UNLIKELY(!f)) return bump_alloc(n, 16);
    return f(n);
}

EXPORT void* calloc(size_t n, size_t size) {
    note(FN_calloc, __builtin_return_address(0));
    __typeof__(calloc)* f = REAL_TRY(calloc);
    if (UNLIKELY(!f)) {
        if (size && n > (size_t)-1 / size) {
            errno = ENOMEM;
            return NULL;
        }
        return bump_alloc(n * size, 16);
    }
    return f(n, size);
}

EXPORT void* realloc(void* p, size_t n) {
    note(FN_realloc, __builtin_return_address(0));
    if (UNLIKELY(in_bump(p))) {
        /* Move the block out of the bootstrap buffer; the old one stays. */
        __typeof__(malloc)* m = REAL_TRY(malloc);
        void* q = m ? m(n ? n : 1) : bump_alloc(n, 16);
        if (q) {
            size_t old = bump_size(p);
            memcpy(q, p, old < n ? old : n);
        }
        return q;
    }
    __typeof__(realloc)* f = REAL_TRY(realloc);
    if (UNLIKELY(!f)) {
        if (p) fatal("realloc of a foreign block during bootstrap", "");
        return bump_alloc(n, 16);
    }
    return f(p, n);
}

EXPORT void free(void* p) {
    note(FN_free, __builtin_return_address(0));
    if (UNLIKELY(in_bump(p))) return;
    __typeof__(free)* f = REAL_TRY(free);
    if (UNLIKELY(!f)) return; /* only possible during bootstrap: leak */
    f(p);
}

EXPORT void* aligned_alloc(size_t align, size_t n) {
    note(FN_aligned_alloc, __builtin_return_address(0));
    __typeof__(aligned_alloc)* f = REAL_TRY(aligned_alloc);
    if (UNLIKELY(!f)) return bump_alloc(n, align);
    return f(align, n);
}

EXPORT int posix_memalign(void** out, size_t align, size_t n) {
    note(FN_posix_memalign, __builtin_return_address(0));
    __typeof__(posix_memalign)* f = REAL_TRY(posix_memalign);
    if (UNLIKELY(!f)) {
        void* p = bump_alloc(n, align);
        if (!p) return ENOMEM;
        *out = p;
        return 0;
    }
    return f(out, align, n);
}

EXPORT void* memalign(size_t align, size_t n) {
    note(FN_memalign, __builtin_return_address(0));
    __typeof__(memalign)* f = REAL_TRY(memalign);
    if (UNLIKELY(!f)) return bump_alloc(n, align);
    return f(align, n);
}

EXPORT void* valloc(size_t n) {
    note(FN_valloc, __builtin_return_address(0));
    __typeof__(valloc)* f = REAL_TRY(valloc);
    if (UNLIKELY(!f)) return bump_alloc(n, 4096);
    return f(n);
}

/* ---- locks ---------------------------------------------------------------- */

EXPORT int pthread_mutex_lock(pthread_mutex_t* m) {
    note(FN_pthread_mutex_lock, __builtin_return_address(0));
    return REAL(pthread_mutex_lock)(m);
}

EXPORT int pthread_mutex_trylock(pthread_mutex_t* m) {
    note(FN_pthread_mutex_trylock, __builtin_return_address(0));
    return REAL(pthread_mutex_trylock)(m);
}

EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t* l) {
    note(FN_pthread_rwlock_rdlock, __builtin_return_address(0));
    return REAL(pthread_rwlock_rdlock)(l);
}

EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t* l) {
    note(FN_pthread_rwlock_wrlock, __builtin_return_address(0));
    return REAL(pthread_rwlock_wrlock)(l);
}

/* ---- files and sockets ---------------------------------------------------- */

/* open*: the mode argument exists only with O_CREAT or O_TMPFILE. */
#define NEEDS_MODE(flags) (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE)

EXPORT int open(const char* path, int flags, ...) {
    note(FN_open, __builtin_return_address(0));
    mode_t mode = 0;
    if (NEEDS_MODE(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return REAL(open)(path, flags, mode);
}

EXPORT int open64(const char* path, int flags, ...) {
    note(FN_open64, __builtin_return_address(0));
    mode_t mode = 0;
    if (NEEDS_MODE(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return REAL(open64)(path, flags, mode);
}

EXPORT int openat(int dir, const char* path, int flags, ...) {
    note(FN_openat, __builtin_return_address(0));
    mode_t mode = 0;
    if (NEEDS_MODE(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return REAL(openat)(dir, path, flags, mode);
}

EXPORT int openat64(int dir, const char* path, int flags, ...) {
    note(FN_openat64, __builtin_return_address(0));
    mode_t mode = 0;
    if (NEEDS_MODE(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return REAL(openat64)(dir, path, flags, mode);
}

EXPORT ssize_t read(int fd, void* buf, size_t n) {
    note(FN_read, __builtin_return_address(0));
    return REAL(read)(fd, buf, n);
}

EXPORT ssize_t write(int fd, const void* buf, size_t n) {
    note(FN_write, __builtin_return_address(0));
    return REAL(write)(fd, buf, n);
}

EXPORT ssize_t pread(int fd, void* buf, size_t n, off_t off) {
    note(FN_pread, __builtin_return_address(0));
    return REAL(pread)(fd, buf, n, off);
}

EXPORT ssize_t pread64(int fd, void* buf, size_t n, off64_t off) {
    note(FN_pread64, __builtin_return_address(0));
    return REAL(pread64)(fd, buf, n, off);
}

EXPORT ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
    note(FN_pwrite, __builtin_return_address(0));
    return REAL(pwrite)(fd, buf, n, off);
}

EXPORT ssize_t pwrite64(int fd, const void* buf, size_t n, off64_t off) {
    note(FN_pwrite64, __builtin_return_address(0));
    return REAL(pwrite64)(fd, buf, n, off);
}

EXPORT ssize_t recv(int fd, void* buf, size_t n, int flags) {
    note(FN_recv, __builtin_return_address(0));
    return REAL(recv)(fd, buf, n, flags);
}

EXPORT ssize_t send(int fd, const void* buf, size_t n, int flags) {
    note(FN_send, __builtin_return_address(0));
    return REAL(send)(fd, buf, n, flags);
}

/* __SOCKADDR_ARG / __CONST_SOCKADDR_ARG are what <sys/socket.h> declares
 * (a transparent union in GNU C); passed through unchanged. */
EXPORT ssize_t recvfrom(int fd, void* restrict buf, size_t n, int flags, __SOCKADDR_ARG addr,
                        socklen_t* restrict len) {
    note(FN_recvfrom, __builtin_return_address(0));
    return REAL(recvfrom)(fd, buf, n, flags, addr, len);
}

EXPORT ssize_t sendto(int fd, const void* buf, size_t n, int flags, __CONST_SOCKADDR_ARG addr, socklen_t len) {
    note(FN_sendto, __builtin_return_address(0));
    return REAL(sendto)(fd, buf, n, flags, addr, len);
}

EXPORT int close(int fd) {
    note(FN_close, __builtin_return_address(0));
    return REAL(close)(fd);
}

EXPORT FILE* fopen(const char* restrict path, const char* restrict mode) {
    note(FN_fopen, __builtin_return_address(0));
    return REAL(fopen)(path, mode);
}

EXPORT FILE* fopen64(const char* restrict path, const char* restrict mode) {
    note(FN_fopen64, __builtin_return_address(0));
    return REAL(fopen64)(path, mode);
}

EXPORT size_t fwrite(const void* restrict p, size_t size, size_t n, FILE* restrict f) {
    note(FN_fwrite, __builtin_return_address(0));
    return REAL(fwrite)(p, size, n, f);
}

EXPORT size_t fread(void* restrict p, size_t size, size_t n, FILE* restrict f) {
    note(FN_fread, __builtin_return_address(0));
    return REAL(fread)(p, size, n, f);
}

EXPORT int fflush(FILE* f) {
    note(FN_fflush, __builtin_return_address(0));
    return REAL(fflush)(f);
}

/* ---- sleeping and waiting -------------------------------------------------- */

EXPORT int usleep(useconds_t us) {
    note(FN_usleep, __builtin_return_address(0));
    return REAL(usleep)(us);
}

EXPORT int nanosleep(const struct timespec* req, struct timespec* rem) {
    note(FN_nanosleep, __builtin_return_address(0));
    return REAL(nanosleep)(req, rem);
}

EXPORT unsigned int sleep(unsigned int s) {
    note(FN_sleep, __builtin_return_address(0));
    return REAL(sleep)(s);
}

EXPORT int poll(struct pollfd* fds, nfds_t n, int timeout) {
    note(FN_poll, __builtin_return_address(0));
    return REAL(poll)(fds, n, timeout);
}

EXPORT int select(int n, fd_set* restrict r, fd_set* restrict w, fd_set* restrict e, struct timeval* restrict t) {
    note(FN_select, __builtin_return_address(0));
    return REAL(select)(n, r, w, e, t);
}

EXPORT int epoll_wait(int ep, struct epoll_event* ev, int max, int timeout) {
    note(FN_epoll_wait, __builtin_return_address(0));
    return REAL(epoll_wait)(ep, ev, max, timeout);
}

/* ---- report ----------------------------------------------------------------
 * Written only by the constructor's process (not by forked children), with
 * the real functions, never from a section, always through a tmp file
 * (<path>.tmp.<pid>) so readers never see half a report.
 * With data (a section was entered) the report replaces the file atomically
 * (rename), at exit, on cuebox_rtguard_write_report() and from the
 * background thread whenever the counters changed (checked once a second).
 * Without data it is written only at exit or on request, and only created
 * (link) if the file does not exist yet, so a helper process that inherited
 * LD_PRELOAD (a wrapper shell, jackd, ...) never overwrites the report of the
 * process that was measured. */

static int report_enabled;
static pid_t report_pid;
static char report_path[4096];
static char report_tmp[4096 + 32];
static pthread_mutex_t report_mu = PTHREAD_MUTEX_INITIALIZER; /* locked via the real function */
static int report_stop;            /* under report_mu: the final report was written */
static int report_written;         /* under report_mu: tried at least once */
static unsigned long last_sections, last_total;
static int warned;

struct where {
    int known;
    const char* object;
    uintptr_t offset;
};
static struct where first_where[FN_COUNT]; /* under report_mu: dladdr() results */

static char out[256 * 1024]; /* under report_mu */
static size_t out_len;
static int out_overflow;

static void put_mem(const char* s, size_t n) {
    if (n > sizeof out - out_len) {
        out_overflow = 1;
        return;
    }
    memcpy(out + out_len, s, n);
    out_len += n;
}
static void put(const char* s) { put_mem(s, strlen(s)); }
static void put_dec(unsigned long v) {
    char b[24];
    int i = (int)sizeof b;
    do b[--i] = (char)('0' + v % 10); while ((v /= 10) != 0);
    put_mem(b + i, sizeof b - (size_t)i);
}
static void put_hex(uintptr_t v) {
    char b[2 + 2 * sizeof v];
    int i = (int)sizeof b;
    do b[--i] = "0123456789abcdef"[v & 15]; while ((v >>= 4) != 0);
    b[--i] = 'x';
    b[--i] = '0';
    put_mem(b + i, sizeof b - (size_t)i);
}
static void put_json_string(const char* s) {
    put("\"");
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put_mem(e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]};
            put_mem(e, 6);
        } else {
            put_mem((const char*)&c, 1);
        }
    }
    put("\"");
}

static void warn_once(const char* what) {
    if (warned) return;
    warned = 1;
    raw_stderr("cuebox-rtguard: cannot write report ");
    raw_stderr(report_path);
    raw_stderr(": ");
    raw_stderr(what);
    raw_stderr("\n");
}

static int write_all(int fd, const char* p, size_t n) {
    while (n) {
        ssize_t w = REAL(write)(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Caller holds report_mu. force: write even if nothing changed. */
static void write_report_locked(int force) {
    unsigned long cnt[FN_COUNT];
    uintptr_t addr[FN_COUNT];
    unsigned long seq[FN_COUNT];
    unsigned long total = 0;
    const unsigned long nsec = __atomic_load_n(&sections, __ATOMIC_RELAXED);
    const int have_data = __atomic_load_n(&entered, __ATOMIC_RELAXED);
    for (int i = 0; i < FN_COUNT; ++i) {
        cnt[i] = __atomic_load_n(&slots[i].count, __ATOMIC_RELAXED);
        addr[i] = __atomic_load_n(&slots[i].first_addr, __ATOMIC_ACQUIRE);
        seq[i] = __atomic_load_n(&slots[i].first_seq, __ATOMIC_RELAXED);
        total += cnt[i];
    }
    /* The background writer only writes once a section was entered: a helper
     * process without data reports at exit only, so it is never caught by
     * exec() or a kill in the middle of creating the file. */
    if (!force && (!have_data || (report_written && nsec == last_sections && total == last_total)))
        return;

    out_len = 0;
    out_overflow = 0;
    put("{\"sections\": ");
    put_dec(nsec);
    put(", \"violations\": {");
    int comma = 0;
    for (int i = 0; i < FN_COUNT; ++i) {
        if (!cnt[i]) continue;
        if (comma) put(", ");
        comma = 1;
        put_json_string(fn_name[i]);
        put(": ");
        put_dec(cnt[i]);
    }
    put("}, \"first\": [");
    /* first violations in the order they happened */
    int order[FN_COUNT], n = 0;
    for (int i = 0; i < FN_COUNT; ++i) {
        if (!cnt[i] || !addr[i]) continue; /* addr 0: being recorded right now */
        int j = n++;
        while (j > 0 && seq[order[j - 1]] > seq[i]) {
            order[j] = order[j - 1];
            --j;
        }
        order[j] = i;
    }
    for (int k = 0; k < n; ++k) {
        const int i = order[k];
        if (!first_where[i].known) {
            /* Once per function and process; dladdr does not allocate. */
            Dl_info info;
            first_where[i].known = 1;
            if (dladdr((void*)addr[i], &info) && info.dli_fname) {
                first_where[i].object = info.dli_fname;
                first_where[i].offset = addr[i] - (uintptr_t)info.dli_fbase;
            }
        }
        if (k) put(", ");
        put("{\"function\": ");
        put_json_string(fn_name[i]);
        put(", \"address\": \"");
        put_hex(addr[i]);
        put("\"");
        if (first_where[i].object) {
            put(", \"object\": ");
            put_json_string(first_where[i].object);
            put(", \"offset\": \"");
            put_hex(first_where[i].offset);
            put("\"");
        }
        put("}");
    }
    put("], \"pid\": ");
    put_dec((unsigned long)report_pid);
    put("}\n");
    if (out_overflow) {
        warn_once("report too large");
        return;
    }

    report_written = 1;
    last_sections = nsec;
    last_total = total;

    const int saved_errno = errno;
    int fd = REAL(open)(report_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        warn_once(strerror(errno));
        errno = saved_errno;
        return;
    }
    int bad = write_all(fd, out, out_len);
    if (REAL(close)(fd) != 0) bad = 1;
    if (bad) {
        warn_once(strerror(errno));
    } else if (have_data) {
        /* Atomically replace whatever is there. */
        if (rename(report_tmp, report_path) == 0) {
            errno = saved_errno;
            return;
        }
        warn_once(strerror(errno));
    } else if (link(report_tmp, report_path) != 0 && errno != EEXIST) {
        /* No data: create atomically, never replace. Without hard links
         * (some file systems), fall back to an exclusive create. */
        fd = REAL(open)(report_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            write_all(fd, out, out_len);
            REAL(close)(fd);
        } else if (errno != EEXIST) {
            warn_once(strerror(errno));
        }
    }
    unlink(report_tmp);
    errno = saved_errno;
}

static void write_report(int force, int final) {
    if (!report_enabled || getpid() != report_pid) return; /* forked child: not ours */
    REAL(pthread_mutex_lock)(&report_mu);
    if (!report_stop) write_report_locked(force);
    if (final) report_stop = 1;
    pthread_mutex_unlock(&report_mu);
}

EXPORT void cuebox_rtguard_write_report(void) { write_report(1, 0); }

static void* report_thread(void* arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "rtguard-report"); /* own name: prctl, no file */
    for (;;) {
        write_report(0, 0);
        struct timespec ts = {1, 0};
        while (REAL(nanosleep)(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    return NULL;
}

/* CUEBOX_RTGUARD_REPORT with "%p" replaced by the pid, made absolute. */
static int make_report_path(const char* spec) {
    size_t n = 0;
    if (spec[0] != '/') {
        if (!getcwd(report_path, sizeof report_path - 2)) return -1;
        n = strlen(report_path);
        if (n == 0 || report_path[n - 1] != '/') report_path[n++] = '/';
    }
    for (const char* s = spec; *s; ++s) {
        if (s[0] == '%' && s[1] == 'p') {
            char pid[24];
            int i = (int)sizeof pid;
            unsigned long v = (unsigned long)report_pid;
            do pid[--i] = (char)('0' + v % 10); while ((v /= 10) != 0);
            size_t len = sizeof pid - (size_t)i;
            if (n + len >= sizeof report_path) return -1;
            memcpy(report_path + n, pid + i, len);
            n += len;
            ++s;
        } else {
            if (n + 1 >= sizeof report_path) return -1;
            report_path[n++] = *s;
        }
    }
    report_path[n] = 0;
    /* tmp name = path + ".tmp." + pid */
    memcpy(report_tmp, report_path, n);
    memcpy(report_tmp + n, ".tmp.", 5);
    n += 5;
    char pid[24];
    int i = (int)sizeof pid;
    unsigned long v = (unsigned long)report_pid;
    do pid[--i] = (char)('0' + v % 10); while ((v /= 10) != 0);
    memcpy(report_tmp + n, pid + i, sizeof pid - (size_t)i);
    report_tmp[n + sizeof pid - (size_t)i] = 0;
    return 0;
}

__attribute__((constructor)) static void rtguard_init(void) {
    resolve_all();
    const char* spec = getenv("CUEBOX_RTGUARD_REPORT");
    if (!spec || !*spec) return;
    report_pid = getpid();
    if (make_report_path(spec) != 0) {
        raw_stderr("cuebox-rtguard: CUEBOX_RTGUARD_REPORT path too long, no report\n");
        return;
    }
    report_enabled = 1;

    /* The writer thread gets every signal blocked, so it never takes a
     * process-directed signal meant for the program's own threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t t;
    if (pthread_create(&t, &attr, report_thread, NULL) != 0)
        raw_stderr("cuebox-rtguard: cannot start the report thread; report only at exit\n");
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

__attribute__((destructor)) static void rtguard_fini(void) { write_report(1, 1); }
