// libFuzzer target: any bytes as a client's JSON: the WebSocket command set
// with its engine arguments, and a control mapping body.
#include "model/Settings.h"
#include "web/Command.h"

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
    if (ec) return 0;
    if (auto r = cuebox::web::parseWsCommand(v); r) (void)cuebox::web::engineArgs(r->op, r->args);
    (void)cuebox::model::parseMapping(v);
    return 0;
}
