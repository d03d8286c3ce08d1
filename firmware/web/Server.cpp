#include "web/Server.h"

#include "base/Log.h"
#include "web/StaticFiles.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <deque>
#include <filesystem>
#include <optional>

#include <unistd.h>

namespace cuebox::web {
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {
constexpr std::size_t kBodyLimit = 64 * 1024;
constexpr std::uint64_t kUploadLimit = std::uint64_t{16} << 30;  // a show bundle with its media
constexpr std::uint64_t kFirmwareLimit = std::uint64_t{2} << 30;  // a RAUC bundle
constexpr std::string_view kFirmwareUpload = "/api/firmware/bundle";
constexpr std::size_t kWsMessageMax = 64 * 1024;
constexpr std::size_t kWsQueueMax = 256;  // messages that cannot be coalesced
}  // namespace

class WsSession : public std::enable_shared_from_this<WsSession> {
public:
    // `who`: the identity that opened it; each command is checked against
    // what that session or token may do now (a logout ends the link).
    WsSession(tcp::socket&& s, Hub& hub, Identity who) : ws_(std::move(s)), hub_(hub), who_(std::move(who)) {}
    ~WsSession() { hub_.leave(this); }

    void run(http::request<http::string_body> req) {
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws_.read_message_max(kWsMessageMax);
        ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
            if (ec) return;
            self->hub_.join(self.get());
            if (self->hub_.onJoin) {
                boost::system::error_code pec;
                const auto peer = beast::get_lowest_layer(self->ws_).socket().remote_endpoint(pec);
                self->hub_.onJoin(pec ? std::string("?") : peer.address().to_string());
            }
            if (self->hub_.snapshotRest) self->enqueue(std::make_shared<const std::string>(self->hub_.snapshotRest()), false);
            self->read();
        });
    }

    // `rest` is a serialised JSON object without its leading '{'; the
    // session's sequence number is put in front when it is written.
    void enqueue(std::shared_ptr<const std::string> rest, bool coalesce) {
        if (closed_) return;
        if (coalesce) {
            state_ = std::move(rest);
        } else {
            if (queue_.size() >= kWsQueueMax) {
                log::warn("web", "a WebSocket client fell behind; disconnecting it (it will resync)");
                return close();
            }
            queue_.push_back(std::move(rest));
        }
        if (!writing_) writeNext();
    }

    const Identity& who() const { return who_; }
    void close() {
        if (closed_) return;
        closed_ = true;
        hub_.leave(this);
        beast::error_code ec;
        beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(ws_).close();
    }

private:
    void read() {
        ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->close();
            boost::system::error_code jec;
            json::value v = json::parse(beast::buffers_to_string(self->buf_.data()), jec);
            self->buf_.consume(self->buf_.size());
            auto reply = [weak = std::weak_ptr<WsSession>(self)](json::object o) {
                if (auto s = weak.lock()) s->enqueue(std::make_shared<const std::string>(json::serialize(o).substr(1)), false);
            };
            const Identity now = self->hub_.api->access().byKey(self->who_.key, self->who_.via);
            if (!now.authenticated()) return self->close();  // logged out, or the user or token is gone
            if (jec) {
                reply({{"type", "error"},
                       {"req", nullptr},
                       {"error", {{"status", 400}, {"code", "bad_request"}, {"field", "body"}, {"reason", "malformed JSON: " + jec.message()}}}});
            } else if (now.role < Role::operator_ || now.mustChange) {
                json::value req = v.is_object() && v.as_object().if_contains("req") ? v.as_object().at("req") : json::value(nullptr);
                reply({{"type", "error"},
                       {"req", req},
                       {"error", {{"status", 403}, {"code", "forbidden"}, {"field", "role"},
                                  {"reason", now.user + " is " + roleName(now.role) + ": clip commands need operator"}}}});
            } else {
                self->hub_.api->command(v, reply);
            }
            self->read();
        });
    }

    void writeNext() {
        std::shared_ptr<const std::string> next;
        if (!queue_.empty()) {
            next = std::move(queue_.front());
            queue_.pop_front();
        } else if (state_) {
            next = std::move(state_);
            state_.reset();
        } else {
            return;
        }
        writing_ = true;
        out_ = "{\"seq\":" + std::to_string(++seq_) + "," + *next;
        ws_.text(true);
        ws_.async_write(net::buffer(out_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->writing_ = false;
            if (ec) return self->close();
            self->writeNext();
        });
    }

    websocket::stream<beast::tcp_stream> ws_;
    Hub& hub_;
    Identity who_;
    beast::flat_buffer buf_;
    std::deque<std::shared_ptr<const std::string>> queue_;
    std::shared_ptr<const std::string> state_;
    std::string out_;
    bool writing_ = false;
    bool closed_ = false;
    std::uint64_t seq_ = 0;
};

void Hub::broadcast(const json::object& msg, bool coalesce) {
    if (tap) tap(msg);
    if (sessions_.empty()) return;
    auto rest = std::make_shared<const std::string>(json::serialize(msg).substr(1));
    // Copy: a session may leave (and erase itself) while we iterate.
    std::vector<WsSession*> list(sessions_.begin(), sessions_.end());
    for (auto* s : list)
        if (sessions_.count(s)) s->enqueue(rest, coalesce);
}

void Hub::revalidate(const std::function<bool(const Identity&)>& keep) {
    std::vector<WsSession*> list(sessions_.begin(), sessions_.end());
    for (auto* s : list)
        if (sessions_.count(s) && !keep(s->who())) s->close();
}

void Hub::resyncAll() {
    if (sessions_.empty() || !snapshotRest) return;
    auto rest = std::make_shared<const std::string>(snapshotRest());
    std::vector<WsSession*> list(sessions_.begin(), sessions_.end());
    for (auto* s : list)
        if (sessions_.count(s)) s->enqueue(rest, false);
}

class HttpSession : public std::enable_shared_from_this<HttpSession> {
public:
    HttpSession(tcp::socket&& s, const ServerOptions& o, Api& api, Hub& hub)
        : stream_(std::move(s)), opt_(o), api_(api), hub_(hub) {}

    void run() { read(); }

private:
    // The header first: a show bundle upload streams its body to a file,
    // every other request reads a small body into memory.
    void read() {
        header_.emplace();
        header_->body_limit(kUploadLimit);
        header_->header_limit(16 * 1024);
        stream_.expires_after(std::chrono::seconds(30));
        http::async_read_header(stream_, buf_, *header_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->onHeader(ec);
        });
    }

    bool readError(beast::error_code ec) {
        if (!ec) return false;
        if (ec == http::error::end_of_stream) {
            shutdown();
            return true;
        }
        if (ec == beast::error::timeout || ec == net::error::eof || ec == net::error::connection_reset) {
            shutdown();
            return true;
        }
        keepAlive_ = false;
        if (ec == http::error::body_limit) {
            sendJson(413, errorJson(413, makeError(Errc::payload_too_large, "body", "the request body is too large")));
            return true;
        }
        sendJson(400, errorJson(400, makeError(Errc::bad_request, "request", "malformed HTTP request: " + ec.message())));
        return true;
    }

    void onHeader(beast::error_code ec) {
        if (readError(ec)) return;
        const auto& h = header_->get();
        keepAlive_ = h.keep_alive();
        version_ = h.version();
        const std::string target(h.target());
        const std::string path = target.substr(0, target.find('?'));
        const std::string_view type = h[http::field::content_type];
        if (h.method() == http::verb::post && (path == "/api/shows/import" || path == "/api/media/upload" || path == kFirmwareUpload) &&
            type.rfind("application/octet-stream", 0) == 0)
            return readUpload(target);
        if (auto n = header_->content_length(); n && *n > kBodyLimit) {
            keepAlive_ = false;
            return sendJson(413, errorJson(413, makeError(Errc::payload_too_large, "body", "the request body is larger than 64 KiB")));
        }
        parser_.emplace(std::move(*header_));
        parser_->body_limit(kBodyLimit);
        http::async_read(stream_, buf_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->onRead(ec);
        });
    }

    void readUpload(const std::string& target) {
        client_ = clientOf(header_->get());
        identity_ = identify(header_->get());
        if (auto ok = api_.access().check(identity_, "POST", target, "", header_->get()["X-CSRF-Token"]); !ok) {
            keepAlive_ = false;  // the body is not read: the connection cannot carry another request
            return sendString(errorResponse(ok.error()), true);
        }
        const bool firmware = target.substr(0, target.find('?')) == kFirmwareUpload;
        if (auto ok = api_.uploadAllowed(); !ok) {
            keepAlive_ = false;  // the body is not read: the connection cannot carry another request
            return sendString(errorResponse(ok.error()), true);
        }
        if (firmware)
            if (auto ok = api_.firmware().uploadAllowed(); !ok) {
                keepAlive_ = false;  // the body is not read: the connection cannot carry another request
                return sendString(errorResponse(ok.error()), true);
            }
        auto dir = firmware ? api_.firmware().uploadDir() : api_.uploadDir();
        if (!dir) {
            keepAlive_ = false;  // the body is not read: the connection cannot carry another request
            return sendString(errorResponse(dir.error()), true);
        }
        static std::uint64_t counter = 0;
        upload_ = *dir + "/.upload-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".partial";
        uploadTarget_ = target;
        upload_parser_.emplace(std::move(*header_));
        upload_parser_->body_limit(firmware ? kFirmwareLimit : kUploadLimit);
        beast::error_code ec;
        upload_parser_->get().body().open(upload_.c_str(), beast::file_mode::write, ec);
        if (ec) {
            keepAlive_ = false;
            return sendString(errorResponse(makeError(Errc::io, "upload", "cannot store the upload: " + ec.message())), true);
        }
        stream_.expires_after(std::chrono::minutes(30));
        http::async_read(stream_, buf_, *upload_parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->onUpload(ec);
        });
    }

    void onUpload(beast::error_code ec) {
        upload_parser_->get().body().close();
        if (ec) {
            std::error_code fec;
            std::filesystem::remove(upload_, fec);
            readError(ec);
            return;
        }
        upload_parser_.reset();
        auto answer = [self = shared_from_this()](HttpResponse res) {
            std::error_code fec;
            std::filesystem::remove(self->upload_, fec);
            self->sendString(std::move(res), true);
        };
        if (uploadTarget_.substr(0, uploadTarget_.find('?')) == kFirmwareUpload) api_.firmware().uploaded(upload_, client_ + " " + identity_.user, answer);
        else if (uploadTarget_.rfind("/api/media/upload", 0) == 0) api_.mediaUploaded(upload_, uploadTarget_, client_ + " " + identity_.user, answer);
        else api_.importUploaded(upload_, uploadTarget_, client_ + " " + identity_.user, answer);
    }

    template <typename Fields>
    std::string clientOf(const http::header<true, Fields>& req) {
        // Who is asking, for the change history and the log: the peer
        // address, and the client's own name when it gives one.
        boost::system::error_code pec;
        const auto peer = stream_.socket().remote_endpoint(pec);
        std::string c = "http " + (pec ? std::string("?") : peer.address().to_string());
        if (auto name = req["X-Cuebox-Client"]; !name.empty() && name.size() <= 64) c += " (" + std::string(name) + ")";
        return c;
    }

    template <typename Fields>
    Identity identify(const http::header<true, Fields>& req) {
        return api_.access().identify(req[http::field::cookie], req[http::field::authorization]);
    }

    std::string peerAddress() {
        boost::system::error_code pec;
        const auto peer = stream_.socket().remote_endpoint(pec);
        return pec ? std::string("?") : peer.address().to_string();
    }

    // A browser's WebSocket from another site's page carries our cookie:
    // only pages served by this box may open one with it.
    static bool sameOrigin(std::string_view origin, std::string_view host) {
        if (origin.empty()) return true;  // not a browser
        const std::size_t scheme = origin.find("://");
        return scheme != std::string_view::npos && origin.substr(scheme + 3) == host;
    }

    void onRead(beast::error_code ec) {
        if (readError(ec)) return;
        auto req = parser_->release();
        keepAlive_ = req.keep_alive();
        version_ = req.version();
        std::string target(req.target());
        std::string path = target.substr(0, target.find('?'));
        ++hub_.counters.requests[std::string(req.method_string()).substr(0, 16)];

        // Every API call, the WebSocket and /metrics: who is asking, and
        // may they (web/Access.h)? Static files (the UI itself) are public.
        Identity who;
        if (path.rfind("/api/", 0) == 0 || path == "/metrics") {
            who = identify(req);
            if (auto ok = api_.access().check(who, std::string(req.method_string()), path, req.body(), req["X-CSRF-Token"]); !ok)
                return sendString(errorResponse(ok.error()), true);
        }

        if (path == "/metrics") {
            if (req.method() != http::verb::get)
                return sendJson(405, errorJson(405, makeError(Errc::method_not_allowed, "method", "/metrics answers GET")));
            return sendString(HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", hub_.metrics ? hub_.metrics() : ""}, true);
        }
        if (path == "/api/ws") {
            if (!websocket::is_upgrade(req))
                return sendJson(400, errorJson(400, makeError(Errc::bad_request, "upgrade", "/api/ws is a WebSocket endpoint")));
            if (who.via == Identity::Via::cookie && !sameOrigin(req[http::field::origin], req[http::field::host]))
                return sendJson(403, errorJson(403, makeError(Errc::csrf, "Origin", "a WebSocket with the session cookie opens only from the box's own pages")));
            stream_.expires_never();
            std::make_shared<WsSession>(stream_.release_socket(), hub_, std::move(who))->run(std::move(req));
            return;
        }
        if (path.rfind("/api/exports/", 0) == 0 && (req.method() == http::verb::get || req.method() == http::verb::head)) {
            auto file = api_.exportFile(path.substr(13));
            if (!file) return sendString(errorResponse(file.error()), true);
            return serveFile(req.method(), *file, "application/octet-stream", path.substr(13));
        }
        if (path.rfind("/api/", 0) == 0) {
            HttpRequest r{std::string(req.method_string()), target, std::string(req[http::field::content_type]), std::move(req.body()),
                          clientOf(req), peerAddress(), std::move(who)};
            api_.handle(r, [self = shared_from_this()](HttpResponse res) { self->sendString(std::move(res), true); });
            return;
        }
        serveStatic(req.method(), target);
    }

    void serveStatic(http::verb method, const std::string& target) {
        if (method != http::verb::get && method != http::verb::head)
            return sendJson(405, errorJson(405, makeError(Errc::method_not_allowed, "method", "static files answer GET and HEAD only")));
        auto path = resolveStatic(opt_.webuiDir, target);
        if (!path) return sendString(errorResponse(path.error()), true);
        serveFile(method, *path, mimeType(*path), "");
    }

    // A file as the response body, streamed; `download` names it as an
    // attachment when not empty.
    void serveFile(http::verb method, const std::string& path, const std::string& type, const std::string& download) {
        beast::error_code ec;
        http::file_body::value_type file;
        file.open(path.c_str(), beast::file_mode::scan, ec);
        if (ec) return sendString(errorResponse(makeError(Errc::not_found, "path", "no such file")), true);
        const auto size = file.size();
        auto setHeaders = [&](auto& res) {
            res.set(http::field::server, "cuebox");
            res.set(http::field::content_type, type);
            res.set(http::field::cache_control, "no-cache");
            if (!download.empty()) res.set(http::field::content_disposition, "attachment; filename=\"" + download + "\"");
            res.content_length(size);
            res.keep_alive(keepAlive_);
        };
        ++hub_.counters.responses[200];
        if (method == http::verb::head) {
            auto head = std::make_shared<http::response<http::empty_body>>(http::status::ok, version_);
            setHeaders(*head);
            return write(head);
        }
        auto res = std::make_shared<http::response<http::file_body>>(
            std::piecewise_construct, std::make_tuple(std::move(file)), std::make_tuple(http::status::ok, version_));
        setHeaders(*res);
        write(res);
    }

    void sendJson(int status, const json::object& body) { sendString(jsonResponse(status, body), true); }

    void sendString(HttpResponse r, bool noStore) {
        ++hub_.counters.responses[r.status];
        auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), version_);
        res->set(http::field::server, "cuebox");
        res->set(http::field::content_type, r.contentType);
        if (noStore) res->set(http::field::cache_control, "no-store");
        for (auto& [name, value] : r.headers) res->insert(name, value);
        res->body() = std::move(r.body);
        res->keep_alive(keepAlive_);
        res->prepare_payload();
        write(res);
    }

    template <typename Msg>
    void write(std::shared_ptr<Msg> msg) {
        stream_.expires_after(std::chrono::seconds(30));
        http::async_write(stream_, *msg, [self = shared_from_this(), msg](beast::error_code ec, std::size_t) {
            if (ec || !self->keepAlive_) return self->shutdown();
            self->read();
        });
    }

    void shutdown() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }

    beast::tcp_stream stream_;
    const ServerOptions& opt_;
    Api& api_;
    Hub& hub_;
    beast::flat_buffer buf_;
    std::optional<http::request_parser<http::empty_body>> header_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::optional<http::request_parser<http::file_body>> upload_parser_;
    std::string upload_, uploadTarget_, client_;
    Identity identity_;  // an upload's
    bool keepAlive_ = true;
    unsigned version_ = 11;
};

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
    Impl(net::io_context& io, ServerOptions o, Api& api, Hub& hub) : io(io), opt(std::move(o)), api(api), hub(hub), acceptor(io) {}
    net::io_context& io;
    ServerOptions opt;
    Api& api;
    Hub& hub;
    tcp::acceptor acceptor;

    void accept() {
        acceptor.async_accept(net::make_strand(io), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
            if (ec == net::error::operation_aborted) return;
            if (!ec) {
                s.set_option(tcp::no_delay(true), ec);
                std::make_shared<HttpSession>(std::move(s), self->opt, self->api, self->hub)->run();
            }
            self->accept();
        });
    }
};

Server::Server(net::io_context& io, ServerOptions o, Api& api, Hub& hub)
    : impl_(std::make_shared<Impl>(io, std::move(o), api, hub)) {}

Server::~Server() {
    beast::error_code ec;
    impl_->acceptor.close(ec);
}

Status Server::start() {
    beast::error_code ec;
    auto addr = net::ip::make_address(impl_->opt.bind, ec);
    if (ec) return makeError(Errc::bad_request, "bind", "web: bad bind address '" + impl_->opt.bind + "'");
    tcp::endpoint ep(addr, impl_->opt.port);
    auto& a = impl_->acceptor;
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
        return makeError(Errc::io, "port", "web: cannot listen on " + impl_->opt.bind + ":" + std::to_string(impl_->opt.port) +
                                              ": " + ec.message());
    impl_->accept();
    return {};
}

unsigned short Server::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace cuebox::web
