// Carries out a ControlRequest from OSC, MIDI or MSC through the same Api
// calls as a tablet's (so validation, the show lock, broadcasts and the
// event log are the same whoever sends it), and keeps the one playhead that
// QLab-style /go and MSC GO without a cue number advance. io thread only.
#pragma once

#include "model/Show.h"
#include "web/Osc.h"

#include <functional>
#include <string>

namespace cuebox::web {

class Api;
class ShowService;

// "field: reason" of an API error body ({"error":{...}}), or the body itself.
std::string describeError(const std::string& body);

class ControlExec {
public:
    // The answer: an HTTP status and its JSON body (the API's, or an error
    // made here: a cell with no clip, the playhead past the end).
    using Done = std::function<void(int status, std::string body)>;

    ControlExec(Api& api, ShowService& show) : api_(api), show_(show) {}

    // Carries out clip, cell, group, master, panic, stopAudition, page, tab,
    // go and select requests; false (and `done` is not called) for the
    // kinds that belong to a transport (query, subscribe, replies, connect).
    bool run(const ControlRequest& r, const std::string& client, Done done);
    model::ClipId playhead() const { return playhead_; }

private:
    void call(const std::string& client, std::string method, std::string target, boost::json::object body, Done done);
    Api& api_;
    ShowService& show_;
    model::ClipId playhead_ = 0;  // the next clip /go starts (0: the first)
    model::ShowId playheadShow_ = 0;  // the show it belongs to
};

}  // namespace cuebox::web
