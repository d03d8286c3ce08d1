#include "web/LogExport.h"

#include <boost/json.hpp>

#include <cstdio>
#include <ctime>

namespace cuebox::web {
namespace json = boost::json;

bool parseLogFormat(const std::string& s, LogFormat& f) {
    if (s == "csv") f = LogFormat::csv;
    else if (s == "json") f = LogFormat::json;
    else if (s == "xml") f = LogFormat::xml;
    else return false;
    return true;
}

const char* contentType(LogFormat f) {
    switch (f) {
    case LogFormat::csv: return "text/csv; charset=utf-8";
    case LogFormat::json: return "application/json";
    case LogFormat::xml: return "application/xml";
    }
    return "text/plain";
}

const char* extension(LogFormat f) {
    switch (f) {
    case LogFormat::csv: return "csv";
    case LogFormat::json: return "json";
    case LogFormat::xml: return "xml";
    }
    return "txt";
}

std::string isoFromNs(std::uint64_t ns) {
    const std::time_t s = static_cast<std::time_t>(ns / 1000000000ull);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned>((ns / 1000000ull) % 1000));
    return buf;
}

namespace {
// RFC 4180: quote every field, double the quotes inside.
std::string csvField(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

std::string xmlEscape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default:
            // Control characters are not allowed in XML 1.0 text.
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') out += ' ';
            else out += static_cast<char>(c);
        }
    }
    return out;
}
}  // namespace

std::string exportLog(const std::vector<store::LogEntry>& entries, LogFormat f) {
    std::string out;
    switch (f) {
    case LogFormat::csv:
        out = "time,kind,source,client,detail,time_source\r\n";
        for (const auto& e : entries)
            out += csvField(isoFromNs(e.timeNs)) + "," + csvField(e.kind) + "," + csvField(e.source) + "," +
                   csvField(e.client) + "," + csvField(e.detail) + "," + csvField(e.timeSource) + "\r\n";
        return out;
    case LogFormat::json: {
        json::array a;
        for (const auto& e : entries)
            a.push_back(json::object{{"time", isoFromNs(e.timeNs)}, {"kind", e.kind}, {"source", e.source},
                                     {"client", e.client}, {"detail", e.detail}, {"time_source", e.timeSource}});
        return json::serialize(json::object{{"entries", std::move(a)}});
    }
    case LogFormat::xml:
        out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<log>\n";
        for (const auto& e : entries)
            out += "  <entry time=\"" + isoFromNs(e.timeNs) + "\" kind=\"" + xmlEscape(e.kind) + "\" source=\"" +
                   xmlEscape(e.source) + "\" client=\"" + xmlEscape(e.client) + "\" time_source=\"" +
                   xmlEscape(e.timeSource) + "\">" + xmlEscape(e.detail) + "</entry>\n";
        return out + "</log>\n";
    }
    return out;
}

}  // namespace cuebox::web
