// Proves the process callback allocates nothing: CppUTest routes every
// operator new through the current "new allocator"; ours counts allocations
// made while the calling thread is inside process().
#include "engine/Engine.h"
#include "EngineTestUtil.h"

#include <CppUTest/TestHarness.h>
#include <CppUTest/TestMemoryAllocator.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

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
    // A long clip streamed from disk (head in RAM, the rest through a ring).
    char tmpl[] = "/tmp/cuebox-rt-XXXXXX";
    const std::string dir = mkdtemp(tmpl);
    auto whole = rampMedia(2, 48000);
    {
        FILE* f = std::fopen((dir + "/s.f32").c_str(), "wb");
        std::fwrite(whole->samples.data(), sizeof(float), whole->samples.size(), f);
        std::fclose(f);
    }
    auto streamed = std::make_shared<MediaBuffer>(*whole);
    streamed->headFrames = 2000;
    streamed->samples.resize(4000);
    streamed->streamPath = dir + "/s.f32";
    auto table = [&](float g) {
        auto* t = new ClipTable;
        ClipEntry e1 = clip(1, g, 0);
        e1.fadeIn = {64, Curve::equalPower};
        e1.fadeOut = {300, Curve::sCurve};
        e1.mode = PlayMode::retrigger;
        e1.crossfade = {500, Curve::equalPower};
        e1.powerComp = true;
        t->add(e1, a);
        ClipEntry e2 = clip(2, g, 1, 0);
        e2.mode = PlayMode::gate;
        t->add(e2, b);
        t->add(clip(3, g, 2), nullptr);
        t->add(clip(4, g, 3, 0), streamed);
        t->finish();
        return t;
    };
    auto mix = [&](float level) {
        auto* m = new MixConfig(MixConfig::defaults(8));
        m->busLevel[1] = level;
        m->choke[2] = level < 0.9f;
        m->matrix[0][5] = level;
        return m;
    };
    engine.publishTable(table(1.0f));
    std::vector<std::vector<float>> bufs(10, std::vector<float>(64));
    std::vector<float*> outs;
    for (auto& b : bufs) outs.push_back(b.data());
    std::uint64_t frame = 0;
    std::uint64_t startedVoices = 0;
    for (int block = 0; block < 20000; ++block) {
        // Control side: a script of every command kind, table swaps included.
        Command c;
        switch (block % 37) {
        case 0: c.type = Command::Type::start; c.clip = 1; engine.post(c); break;
        case 1: for (int k = 0; k < 30; ++k) { c.type = Command::Type::start; c.clip = 2; engine.post(c); } break;  // steals
        case 3: c.type = Command::Type::start; c.clip = 2; c.atFrame = frame + 100; engine.post(c); break;
        case 5: c.type = Command::Type::press; c.clip = 1; engine.post(c); break;  // retrigger crossfade
        case 7: c.type = Command::Type::press; c.clip = 2; engine.post(c); break;
        case 8: c.type = Command::Type::release; c.clip = 2; engine.post(c); break;
        case 9: c.type = Command::Type::toggle; c.clip = 1; engine.post(c); break;
        case 11: c.type = Command::Type::pause; c.clip = 1; engine.post(c); break;
        case 13: c.type = Command::Type::resume; c.clip = 1; engine.post(c); break;
        case 14: c.type = Command::Type::start; c.clip = 3; engine.post(c); break;
        case 16: c.type = Command::Type::start; c.clip = 4; engine.post(c); break;
        case 15: c.type = Command::Type::audition; c.clip = 1; engine.post(c); break;
        case 17: c.type = Command::Type::stop; c.clip = 2; engine.post(c); break;
        case 19: c.type = Command::Type::stopGroup; c.group = 1; engine.post(c); break;
        case 21: c.type = Command::Type::start; c.clip = 42; engine.post(c); break;
        case 25: c.type = Command::Type::stopAudition; engine.post(c); break;
        case 30: if (block % 111 == 30) { c.type = Command::Type::panic; engine.post(c); } break;
        }
        if (block % 500 == 250) {
            auto* t = table(0.5f);
            if (!engine.publishTable(t)) delete t;
        }
        if (block % 300 == 100) {
            auto* m = mix(block % 600 == 100 ? 0.5f : 1.0f);
            if (!engine.publishMix(m)) delete m;
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
        while (MixConfig* old = engine.takeRetiredMix()) delete old;
        if (block % 3 == 0) engine.streamer().service();  // the disk thread, outside the RT scope
    }
    LONGS_EQUAL(0, guard->violations);
    CHECK(startedVoices > 500);  // the script really exercised voices
    std::filesystem::remove_all(dir);
}
