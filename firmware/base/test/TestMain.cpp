#include <CppUTest/CommandLineTestRunner.h>
#include <CppUTest/MemoryLeakWarningPlugin.h>

int main(int argc, char** argv) {
    // Tests start worker threads (imports, analysis, media jobs, the engine's
    // disk thread) that allocate while the test runs: the leak detector's
    // default new/delete overloads are not thread-safe and corrupt its
    // bookkeeping (seen as "Deallocating non-allocated memory" and crashes
    // under load). A first allocation comes before switching, or the switch
    // turns leak detection off (cpputest issue #1278).
    delete new char;
    MemoryLeakWarningPlugin::turnOnThreadSafeNewDeleteOverloads();
    return CommandLineTestRunner::RunAllTests(argc, argv);
}
