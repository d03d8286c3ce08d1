// The machine's own real-time behaviour, as a control for the soak: a
// SCHED_FIFO-able loop that wakes once per 64-frame period (1333 us) on an
// absolute clock, does ~12 us of fixed work, and counts the periods it
// finished more than a period after its due time -- what an audio thread
// that does nearly nothing would suffer here.
//   wakeup_probe SECONDS
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

static std::int64_t now() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? std::atof(argv[1]) : 60;
    std::vector<float> work(1024, 1.0f);
    volatile float sink = 0;
    timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    const long periods = static_cast<long>(seconds * 48000 / 64);
    long late = 0;
    std::int64_t worstLate = 0;
    for (long i = 0; i < periods; ++i) {
        next.tv_nsec += 1333333;
        if (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            ++next.tv_sec;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
        float s = 0;
        for (int r = 0; r < 12; ++r)
            for (float x : work) s += x;
        sink = s;
        const std::int64_t lateBy = now() - (next.tv_sec * 1000000000LL + next.tv_nsec);
        if (lateBy > 1333333) ++late;
        if (lateBy > worstLate) worstLate = lateBy;
    }
    std::printf("control: a paced loop with ~12 us of work per period finished more than a period late %ld times in "
                "%.0f s (worst %.0f us late)\n",
                late, seconds, static_cast<double>(worstLate) / 1e3);
    return 0;
}
