// Proves the process callback allocates nothing: CppUTest routes every
// operator new through the current "new allocator"; ours counts allocations
// made while the calling thread is inside process().
#include "engine/Engine.h"
#include "EngineTestUtil.h"

#include <CppUTest/TestHarness.h>
#include <CppUTest/TestMemoryAllocator.h>

using namespace cuebox::engine;
using namespace cuebox::engine::test;

namespace {
thread_local bool t_inRt = false;

class RtGuardAllocator : public TestMemoryAllocator {
public:
    explicit RtGuardAllocator(TestMemoryAllocator* real) : real_(real) {}
    char* alloc_memory(size_t size, const char* file, size_t line) override {
        if (t_inRt) ++violations;
        return real_->alloc_memory(size, file, line);
    }
    void free_memory(char* memory, size_t size, const char* file, size_t line) override {
        if (t_inRt) ++violations;
        real_->free_memory(memory, size, file, line);
    }
    TestMemoryAllocator* actualAllocator() override { return real_->actualAllocator(); }
    int violations = 0;

private:
    TestMemoryAllocator* real_;
};

struct RtScope {
    RtScope() { t_inRt = true; }
    ~RtScope() { t_inRt = false; }
};
}  // namespace

TEST_GROUP(RtSafety) {
    TestMemoryAllocator* saved = nullptr;
    RtGuardAllocator* guard = nullptr;
    void setup() override {
        saved = getCurrentNewAllocator();
        guard = new RtGuardAllocator(saved);
        setCurrentNewAllocator(guard);
    }
    void teardown() override {
        setCurrentNewAllocator(saved);
        delete guard;
    }
};

TEST(RtSafety, theGuardCatchesAnAllocationInsideTheRtScope) {
    {
        RtScope rt;
        int* p = new int(3);
        delete p;
    }
    LONGS_EQUAL(2, guard->violations);
}

TEST(RtSafety, processNeverAllocatesOrFreesOverThousandsOfScriptedBlocks) {
    Engine engine(Config{48000, 5, 200});
    auto a = rampMedia(2, 9000), b = rampMedia(1, 3000);
    auto table = [&](float g) {
        auto* t = new ClipTable;
        t->add(ClipEntry{1, nullptr, g, 64, 300, false}, a);
        t->add(ClipEntry{2, nullptr, g, 0, 0, true}, b);
        t->add(ClipEntry{3, nullptr, g, 0, 0, false}, nullptr);
        t->finish();
        return t;
    };
    engine.publishTable(table(1.0f));
    std::array<std::vector<float>, kOutputs> bufs;
    std::array<float*, kOutputs> outs{};
    for (int o = 0; o < kOutputs; ++o) {
        bufs[static_cast<std::size_t>(o)].resize(64);
        outs[static_cast<std::size_t>(o)] = bufs[static_cast<std::size_t>(o)].data();
    }
    std::uint64_t frame = 0;
    std::uint64_t startedVoices = 0;
    for (int block = 0; block < 20000; ++block) {
        // Control side: a script of every command kind, table swaps included.
        Command c;
        switch (block % 37) {
        case 0: c.type = Command::Type::start; c.clip = 1; engine.post(c); break;
        case 3: c.type = Command::Type::start; c.clip = 2; c.atFrame = frame + 100; engine.post(c); break;
        case 9: c.type = Command::Type::toggle; c.clip = 1; engine.post(c); break;
        case 14: c.type = Command::Type::start; c.clip = 3; engine.post(c); break;
        case 17: c.type = Command::Type::stop; c.clip = 2; engine.post(c); break;
        case 21: c.type = Command::Type::start; c.clip = 42; engine.post(c); break;
        case 30: if (block % 111 == 30) { c.type = Command::Type::panic; engine.post(c); } break;
        }
        if (block % 500 == 250) {
            auto* t = table(0.5f);
            if (!engine.publishTable(t)) delete t;
        }
        {
            RtScope rt;
            engine.process(64, outs.data(), frame);
        }
        frame += 64;
        Event e;
        while (engine.popEvent(e))
            if (e.type == Event::Type::started) ++startedVoices;
        while (ClipTable* old = engine.takeRetiredTable()) delete old;
    }
    LONGS_EQUAL(0, guard->violations);
    CHECK(startedVoices > 500);  // the script really exercised voices
}
