// Self-test for cuebox-rtguard. Linked normally, NOT against the library: the
// section markers are weak symbols that are non-null only when the library is
// preloaded (exactly how the engine uses them).
//
//   cuebox-rtguard-selftest [basic|extra|all|kill]
//
// basic: one section with exactly malloc, free, pthread_mutex_lock (+unlock,
//        not hooked) and write (to /dev/null), while another thread allocates
//        and locks (the flag is per thread: not counted); lots of allocation,
//        locking and writing outside sections; then
//        cuebox_rtguard_write_report().
// extra: like basic, plus one calloc (and its free) in the section.
// all:   one section calling every hooked function at least once.
// kill:  like basic, then waits 2.5 s and SIGKILLs itself (no exit handlers,
//        no explicit report): only the background writer can have reported.
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

extern "C" void cuebox_rt_section_begin() __attribute__((weak));
extern "C" void cuebox_rt_section_end() __attribute__((weak));
extern "C" void cuebox_rtguard_write_report() __attribute__((weak));

namespace {

// Keeps the compiler from removing malloc/free pairs.
void* volatile sink;

void begin() {
    if (cuebox_rt_section_begin) cuebox_rt_section_begin();
}
void end() {
    if (cuebox_rt_section_end) cuebox_rt_section_end();
}

pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

void outsideSections(int devnull) {
    std::vector<std::string> v;
    for (int i = 0; i < 10000; ++i) {
        sink = std::malloc(static_cast<std::size_t>(16 + i % 512));
        std::free(sink);
        sink = std::calloc(4, 32);
        sink = std::realloc(sink, 4096);
        std::free(sink);
        v.push_back(std::to_string(i) + " some text long enough to need the heap");
        pthread_mutex_lock(&mu);
        pthread_mutex_unlock(&mu);
    }
    v.clear();
    v.shrink_to_fit();
    for (int i = 0; i < 100; ++i) {
        if (write(devnull, "y", 1) != 1) std::abort();
    }
    std::FILE* f = std::fopen("/dev/null", "w");
    std::fprintf(f, "outside\n");
    std::fclose(f);
}

void basicSection(int devnull, bool extra) {
    // Another thread allocates while this one is in its section. Only
    // lock-free atomics (no calls) are used to hand over inside the section.
    std::atomic<int> stage{0};
    std::thread other([&] {
        while (stage.load() != 1) {
        }
        for (int i = 0; i < 1000; ++i) {
            sink = std::malloc(32);
            std::free(sink);
            pthread_mutex_lock(&mu);
            pthread_mutex_unlock(&mu);
        }
        stage.store(2);
    });

    begin();
    sink = std::malloc(64);
    std::free(sink);
    pthread_mutex_lock(&mu);
    pthread_mutex_unlock(&mu);
    if (write(devnull, "x", 1) != 1) std::abort();
    if (extra) {
        sink = std::calloc(1, 64);
        std::free(sink);  // a second free: also counted
    }
    stage.store(1);
    while (stage.load() != 2) {
    }
    end();
    other.join();
}

void allSection() {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv) != 0) std::abort();
    int ep = epoll_create1(0);
    if (ep < 0) std::abort();
    char buf[16] = {};
    struct timespec zero = {0, 0};
    struct timeval tv0 = {0, 0};
    struct epoll_event ev;
    void* p = nullptr;

    begin();
    sink = std::malloc(8);
    std::free(sink);
    sink = std::calloc(1, 8);
    sink = std::realloc(sink, 64);
    std::free(sink);
    sink = std::aligned_alloc(64, 64);
    std::free(sink);
    if (posix_memalign(&p, 64, 64) != 0) std::abort();
    sink = p;
    std::free(sink);
    sink = memalign(64, 64);
    std::free(sink);
    sink = valloc(64);
    std::free(sink);

    pthread_mutex_lock(&mu);
    pthread_mutex_unlock(&mu);
    if (pthread_mutex_trylock(&mu) == 0) pthread_mutex_unlock(&mu);
    pthread_rwlock_rdlock(&rw);
    pthread_rwlock_unlock(&rw);
    pthread_rwlock_wrlock(&rw);
    pthread_rwlock_unlock(&rw);

    int fds[4];
    fds[0] = open("/dev/null", O_RDWR);
    fds[1] = open64("/dev/null", O_RDWR);
    fds[2] = openat(AT_FDCWD, "/dev/null", O_RDWR);
    fds[3] = openat64(AT_FDCWD, "/dev/null", O_RDWR);
    for (int fd : fds)
        if (fd < 0) std::abort();
    if (read(fds[0], buf, sizeof buf) != 0) std::abort();
    if (write(fds[0], "x", 1) != 1) std::abort();
    if (pread(fds[0], buf, sizeof buf, 0) != 0) std::abort();
    if (pread64(fds[0], buf, sizeof buf, 0) != 0) std::abort();
    if (pwrite(fds[0], "x", 1, 0) != 1) std::abort();
    if (pwrite64(fds[0], "x", 1, 0) != 1) std::abort();
    for (int fd : fds) close(fd);

    if (send(sv[0], "a", 1, 0) != 1) std::abort();
    if (recv(sv[1], buf, sizeof buf, 0) != 1) std::abort();
    if (sendto(sv[0], "b", 1, 0, nullptr, 0) != 1) std::abort();
    if (recvfrom(sv[1], buf, sizeof buf, 0, nullptr, nullptr) != 1) std::abort();

    std::FILE* f = std::fopen("/dev/null", "r+");
    std::FILE* g = fopen64("/dev/null", "r");
    if (!f || !g) std::abort();
    std::fwrite("x", 1, 1, f);
    std::fflush(f);
    (void)std::fread(buf, 1, 1, g);
    std::fclose(f);
    std::fclose(g);

    usleep(1);
    nanosleep(&zero, nullptr);
    sleep(0);
    poll(nullptr, 0, 0);
    select(0, nullptr, nullptr, nullptr, &tv0);
    epoll_wait(ep, &ev, 1, 0);
    end();

    close(sv[0]);
    close(sv[1]);
    close(ep);
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "basic";
    if (!cuebox_rt_section_begin || !cuebox_rt_section_end)
        std::fprintf(stderr, "rtguard-selftest: cuebox-rtguard is not preloaded; sections are no-ops\n");

    const int devnull = open("/dev/null", O_WRONLY);
    if (devnull < 0) return 1;
    // Outside sections first, which also binds every PLT entry used below.
    outsideSections(devnull);
    if (mode == "basic" || mode == "extra" || mode == "kill")
        basicSection(devnull, mode == "extra");
    else if (mode == "all")
        allSection();
    else {
        std::fprintf(stderr, "rtguard-selftest: unknown mode '%s'\n", mode.c_str());
        return 2;
    }
    outsideSections(devnull);
    close(devnull);

    if (mode == "kill") {
        struct timespec t = {2, 500000000};
        nanosleep(&t, nullptr);
        raise(SIGKILL);
    }
    if (cuebox_rtguard_write_report) cuebox_rtguard_write_report();
    return 0;
}
