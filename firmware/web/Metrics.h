// GET /metrics: the box's figures in the Prometheus text format (0.0.4), for
// a venue's monitoring: voices, DSP load, xruns, clock, WebSocket clients,
// HTTP requests and errors, OSC traffic. Built from what the web process
// already holds (the engine's live state, counters): no engine round trip.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace cuebox::web {

struct HttpCounters {
    std::map<std::string, std::uint64_t> requests;  // by method
    std::map<int, std::uint64_t> responses;         // by status
};

std::string metricsText(const boost::json::object& live, const boost::json::object& osc, const HttpCounters& http,
                        std::size_t wsClients);

}  // namespace cuebox::web
