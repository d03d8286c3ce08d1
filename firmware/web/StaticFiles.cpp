#include "web/StaticFiles.h"

namespace cuebox::web {

Result<std::string> resolveStatic(const std::string& root, std::string_view target) {
    if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    if (target.empty() || target[0] != '/')
        return makeError(Errc::bad_request, "path", "the request target must be an absolute path");
    if (target.find("..") != std::string_view::npos || target.find('\\') != std::string_view::npos ||
        target.find('\0') != std::string_view::npos)
        return makeError(Errc::bad_request, "path", "the path must not contain '..', '\\' or NUL");
    std::string path = root + std::string(target);
    if (target.back() == '/') path += "index.html";
    return path;
}

const char* mimeType(std::string_view path) {
    auto ends = [&](std::string_view ext) {
        return path.size() >= ext.size() && path.substr(path.size() - ext.size()) == ext;
    };
    if (ends(".html")) return "text/html; charset=utf-8";
    if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
    if (ends(".css")) return "text/css; charset=utf-8";
    if (ends(".json")) return "application/json";
    if (ends(".svg")) return "image/svg+xml";
    if (ends(".png")) return "image/png";
    if (ends(".ico")) return "image/x-icon";
    if (ends(".woff2")) return "font/woff2";
    return "application/octet-stream";
}

}  // namespace cuebox::web
