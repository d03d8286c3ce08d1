// Per-source history of the time sources for the clocks screen's plots and
// for anyone who opens it late: from each live.clock the engine reports,
// one sample a second per source (offset, drift, jitter, quality, state),
// the last 10 minutes; and the last 50 switches of source with their
// emergency phase times. In memory on the io thread (a restart of
// cuebox-web starts a new history; the switches are also in the event log).
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <string>

namespace cuebox::web {

class ClockHistory {
public:
    static constexpr std::size_t kSamples = 600;  // 10 minutes at 1 a second
    static constexpr std::size_t kSwitches = 50;

    // `nowMs`: wall clock, ms since the epoch.
    void record(const boost::json::object& clock, std::int64_t nowMs);
    void switched(const boost::json::object& done, std::int64_t nowMs);
    // {sources: {name: [{t, state, quality, offset_ns?, drift_ppb?, jitter_ns?}]}, switches: [...]}
    boost::json::object json() const;

private:
    struct Sample {
        std::int64_t t = 0;
        boost::json::object values;
    };
    std::map<std::string, std::deque<Sample>> sources_;
    std::deque<boost::json::object> switches_;
};

}  // namespace cuebox::web
