// The media job runner with its real worker threads: progress per item and
// overall, at most ten broadcasts a second per job but always the final
// state, cancellation, the done callback on the "io thread" (here: the
// test's own queue of posted functions), and the lanes running side by side.
#include "web/MediaJobs.h"

#include <CppUTest/TestHarness.h>

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

using namespace cuebox;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {
// Stands in for the io thread: posted functions wait here until run().
struct Io {
    std::mutex m;
    std::deque<std::function<void()>> q;
    void post(std::function<void()> f) {
        std::lock_guard l(m);
        q.push_back(std::move(f));
    }
    void run() {
        for (;;) {
            std::function<void()> f;
            {
                std::lock_guard l(m);
                if (q.empty()) return;
                f = std::move(q.front());
                q.pop_front();
            }
            f();
        }
    }
    // Runs posted functions until `done()` or the deadline.
    template <typename Pred>
    bool until(Pred done, std::chrono::milliseconds limit = 5000ms) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            run();
            if (done()) return true;
            std::this_thread::sleep_for(2ms);
        }
        return false;
    }
};
}  // namespace

TEST_GROUP(MediaJobs) {
    Io io;
    std::vector<json::object> sent;
    std::unique_ptr<web::MediaJobs> jobs;
    void setup() override {
        jobs = std::make_unique<web::MediaJobs>();
        jobs->setPoster([this](std::function<void()> f) { io.post(std::move(f)); });
        jobs->setBroadcast([this](json::object m) { sent.push_back(std::move(m)); });
    }
    void teardown() override {
        jobs->stop();
        jobs.reset();
    }
};

TEST(MediaJobs, itemsReportProgressAndTheJobEndsDoneWithItsResult) {
    json::object result;
    web::MediaJobs::Spec s;
    s.kind = "import";
    s.label = "two files";
    s.items = {"a.wav", "b.wav"};
    s.work = [](web::MediaJobs::Reporter& r) {
        for (std::size_t i = 0; i < 2; ++i) {
            for (int k = 1; k <= 200; ++k) r.item(i, k / 200.0, "decoding");
            if (i == 0) r.itemDone(i, true, "", {{"media", "abc"}});
            else r.itemDone(i, false, "'b.wav' is truncated");
        }
        return json::object{{"imported", 1}};
    };
    s.done = [&](json::object r) { result = std::move(r); };
    const auto id = jobs->submit(std::move(s));
    CHECK(io.until([&] { return !result.empty(); }));
    json::object j = jobs->job(id);
    STRCMP_EQUAL("done", j.at("state").as_string().c_str());
    DOUBLES_EQUAL(1.0, j.at("progress").to_number<double>(), 1e-9);  // a refused item counts as finished
    const auto& items = j.at("items").as_array();
    STRCMP_EQUAL("done", items[0].at("state").as_string().c_str());
    STRCMP_EQUAL("abc", items[0].at("details").at("media").as_string().c_str());
    STRCMP_EQUAL("failed", items[1].at("state").as_string().c_str());
    STRCMP_EQUAL("'b.wav' is truncated", items[1].at("error").as_string().c_str());
    LONGS_EQUAL(1, result.at("imported").as_int64());
    // 400 progress calls in a few milliseconds: throttled, but the final
    // state always goes out.
    CHECK(sent.size() < 20);
    const json::object& last = sent.back().at("job").as_object();
    STRCMP_EQUAL("media_job", sent.back().at("type").as_string().c_str());
    STRCMP_EQUAL("done", last.at("state").as_string().c_str());
}

TEST(MediaJobs, aCancelledJobStopsAtItsNextProgressReport) {
    std::atomic<bool> started{false};
    std::atomic<int> reportsAfterCancel{0};
    web::MediaJobs::Spec s;
    s.kind = "render";
    s.items = {"long.wav"};
    s.lane = web::MediaJobs::Lane::background;
    s.work = [&](web::MediaJobs::Reporter& r) {
        started = true;
        while (r.item(0, 0.5)) std::this_thread::sleep_for(1ms);
        ++reportsAfterCancel;
        r.itemDone(0, false, "cancelled");
        return json::object{};
    };
    const auto id = jobs->submit(std::move(s));
    CHECK(io.until([&] { return started.load(); }));
    CHECK(jobs->busy(web::MediaJobs::Lane::background));
    CHECK(jobs->cancel(id));
    CHECK(io.until([&] { return jobs->job(id).at("state").as_string() == "cancelled"; }));
    LONGS_EQUAL(1, reportsAfterCancel.load());
    STRCMP_EQUAL("cancelled", jobs->job(id).at("items").as_array()[0].at("state").as_string().c_str());
    CHECK_FALSE(jobs->cancel(id));  // finished: nothing to cancel
    CHECK(jobs->job(999).empty());
}

TEST(MediaJobs, theLanesRunSideBySideAndEachInOrder) {
    std::atomic<bool> release{false};
    std::vector<std::string> order;
    std::mutex m;
    auto spec = [&](const char* name, web::MediaJobs::Lane lane, bool wait) {
        web::MediaJobs::Spec s;
        s.kind = name;
        s.items = {name};
        s.lane = lane;
        s.work = [&, name, wait](web::MediaJobs::Reporter& r) {
            while (wait && !release.load()) std::this_thread::sleep_for(1ms);
            {
                std::lock_guard l(m);
                order.emplace_back(name);
            }
            r.itemDone(0, true);
            return json::object{};
        };
        return s;
    };
    jobs->submit(spec("import-1", web::MediaJobs::Lane::imports, true));
    jobs->submit(spec("import-2", web::MediaJobs::Lane::imports, false));
    const auto check = jobs->submit(spec("check", web::MediaJobs::Lane::background, false));
    // The check finishes while the first import is still held.
    CHECK(io.until([&] { return jobs->job(check).at("state").as_string() == "done"; }));
    {
        std::lock_guard l(m);
        LONGS_EQUAL(1, order.size());
        STRCMP_EQUAL("check", order[0].c_str());
    }
    STRCMP_EQUAL("queued", jobs->jobs().at(1).at("state").as_string().c_str());  // import-2 waits its turn
    release = true;
    CHECK(io.until([&] { std::lock_guard l(m); return order.size() == 3; }));
    STRCMP_EQUAL("import-1", order[1].c_str());
    STRCMP_EQUAL("import-2", order[2].c_str());
}
