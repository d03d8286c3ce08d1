// The show's settings sections (the specification's transport, time source,
// emergency/thread, voice, time division, media paths, logging, recovery
// and platform configuration) and its control mappings. Each section is a
// flat JSON object whose members are declared once in a table (type, range,
// default) in Settings.cpp: that table validates edits, fills defaults and
// documents the API. Plain values, no I/O.
#pragma once

#include "base/Error.h"

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cuebox::model {

// section name -> its values (always complete: defaults filled in).
using Settings = std::map<std::string, boost::json::object>;

// Every section with its default values.
Settings defaultSettings();
// Section names, in API order.
std::vector<std::string> settingsSections();
// Completes a stored section with defaults for members it lacks (a store
// written before a member existed) and drops members no longer known.
boost::json::object completeSection(const std::string& section, const boost::json::object& stored);
// Applies a partial edit to `values` of `section`. Errors name the member
// ("section.member") and its allowed values; nothing changes on error.
Status patchSection(const std::string& section, boost::json::object& values, const boost::json::value& body);
// The declared members as JSON (type, min, max, values, default) for the API.
boost::json::object settingsSchema();

// A control mapping: an incoming message that fires an action.
struct Mapping {
    std::uint64_t id = 0;
    boost::json::object data;  // source, address, action, clip?, group?, enabled
    bool operator==(const Mapping&) const = default;
};
// Validates a whole mapping (POST/PUT body); returns its normalised form.
Result<boost::json::object> parseMapping(const boost::json::value& body);

}  // namespace cuebox::model
