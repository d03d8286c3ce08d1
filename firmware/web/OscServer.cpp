#include "web/OscServer.h"

#include "web/Api.h"
#include "web/ControlAccess.h"
#include "web/ControlExec.h"
#include "web/LogLimiter.h"
#include "web/MidiControl.h"
#include "web/ShowService.h"

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <set>

namespace cuebox::web {
namespace json = boost::json;
namespace net = boost::asio;
using net::ip::tcp;
using net::ip::udp;
using Clock = std::chrono::steady_clock;

namespace {
// A UDP controller that sent the passcode stays let in this long after its
// last message (QLab's 61 s); a UDP subscriber renews within it.
constexpr auto kUdpLease = std::chrono::seconds(61);
constexpr std::size_t kMaxUdpReply = 65000;          // one datagram
constexpr std::size_t kMaxTcpQueued = 8u << 20;      // a reader this far behind is dropped
constexpr std::size_t kMaxTcpClients = 32;
constexpr auto kProgressEvery = std::chrono::milliseconds(100);
constexpr auto kRefusalLogEvery = std::chrono::seconds(10);  // per source and reason

std::string addrText(const net::ip::address& a) {
    return a.is_v6() && a.to_v6().is_v4_mapped() ? net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).to_string()
                                                : a.to_string();
}
}  // namespace

struct TcpClient;

struct Peer {
    bool tcp = false;
    udp::endpoint ep;
    std::weak_ptr<TcpClient> conn;
    net::ip::address addr;
    std::string name;  // "osc udp 10.0.0.5:53001" (event log, origin of edits)
};

struct TcpClient : std::enable_shared_from_this<TcpClient> {
    explicit TcpClient(tcp::socket s) : sock(std::move(s)) {}
    tcp::socket sock;
    std::array<std::uint8_t, 16384> buf{};
    std::vector<std::uint8_t> in;
    enum class Mode { unknown, length, slip } mode = Mode::unknown;
    std::deque<std::string> out;
    std::size_t queued = 0;
    bool writing = false;
    bool authorised = false;
    bool subscribed = false;
    Peer peer;
};

struct OscServer::Impl : std::enable_shared_from_this<OscServer::Impl> {
    Impl(net::io_context& io, ShowService& show, ControlAccess& access, ControlExec& exec, Log log)
        : io(io), show(show), access(access), exec(exec), log(std::move(log)) {}

    net::io_context& io;
    ShowService& show;
    ControlAccess& access;
    ControlExec& exec;
    Log log;
    std::string bind = "0.0.0.0";
    int portOverride = 0;
    std::optional<udp::socket> udpSock;
    std::optional<tcp::acceptor> acceptor;
    std::vector<std::uint8_t> udpBuf = std::vector<std::uint8_t>(kOscMaxPacket + 1);
    udp::endpoint from;
    std::set<std::shared_ptr<TcpClient>> clients;
    std::map<net::ip::address, Clock::time_point> udpAuthorised;  // until
    std::map<udp::endpoint, Clock::time_point> udpSubscribers;    // until
    std::map<udp::endpoint, Clock::time_point> udpReplies;  // until (renewed by each message let in)
    // Wrong passcodes per source address: after 5 in a row, /connect is
    // refused for 30 s (as the show lock's PIN).
    std::map<net::ip::address, std::pair<int, Clock::time_point>> wrongPasscodes;
    std::uint64_t received = 0, refused = 0, errors = 0, commands = 0;
    LogLimiter logLimiter;
    Clock::time_point lastProgress{};
    bool progressWasEmpty = true;
    std::string lastLevels;

    // ------------------------------------------------------------ sockets
    Status open() {
        close();
        if (!access.oscEnabled()) return {};
        const int port = portOverride ? portOverride : access.oscPort();
        boost::system::error_code ec;
        const auto addr = net::ip::make_address(bind, ec);
        if (ec) return makeError(Errc::bad_request, "bind", "not an address: " + bind);
        udp::socket u(io);
        u.open(addr.is_v4() ? udp::v4() : udp::v6(), ec);
        if (!ec) u.bind(udp::endpoint(addr, static_cast<unsigned short>(port)), ec);
        if (ec) return makeError(Errc::unavailable, "osc.port", "OSC UDP port " + std::to_string(port) + ": " + ec.message());
        tcp::acceptor a(io);
        a.open(addr.is_v4() ? tcp::v4() : tcp::v6(), ec);
        if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
        if (!ec) a.bind(tcp::endpoint(addr, static_cast<unsigned short>(port)), ec);
        if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
        if (ec) return makeError(Errc::unavailable, "osc.port", "OSC TCP port " + std::to_string(port) + ": " + ec.message());
        udpSock.emplace(std::move(u));
        acceptor.emplace(std::move(a));
        receive();
        accept();
        return {};
    }

    void close() {
        boost::system::error_code ec;
        if (udpSock) udpSock->close(ec);
        if (acceptor) acceptor->close(ec);
        udpSock.reset();
        acceptor.reset();
        for (const auto& c : clients) c->sock.close(ec);
        clients.clear();
        udpSubscribers.clear();
        udpReplies.clear();
        udpAuthorised.clear();
    }

    void receive() {
        if (!udpSock) return;
        udpSock->async_receive_from(net::buffer(udpBuf), from, [self = weak_from_this()](boost::system::error_code ec, std::size_t n) {
            auto s = self.lock();
            if (!s || !s->udpSock || ec == net::error::operation_aborted) return;
            if (!ec) {
                Peer p;
                p.ep = s->from;
                p.addr = s->from.address();
                p.name = "osc udp " + addrText(p.addr) + ":" + std::to_string(s->from.port());
                s->packet(p, std::span<const std::uint8_t>(s->udpBuf.data(), n));
            }
            s->receive();
        });
    }

    void accept() {
        if (!acceptor) return;
        acceptor->async_accept([self = weak_from_this()](boost::system::error_code ec, tcp::socket sock) {
            auto s = self.lock();
            if (!s || !s->acceptor || ec == net::error::operation_aborted) return;
            if (!ec) s->admit(std::move(sock));
            s->accept();
        });
    }

    void admit(tcp::socket sock) {
        boost::system::error_code ec;
        const auto remote = sock.remote_endpoint(ec);
        if (ec) return;
        auto c = std::make_shared<TcpClient>(std::move(sock));
        c->peer.tcp = true;
        c->peer.conn = c;
        c->peer.addr = remote.address();
        c->peer.name = "osc tcp " + addrText(remote.address()) + ":" + std::to_string(remote.port());
        if (!access.allowed(c->peer.addr)) {
            refuse(c->peer, "", "not on the OSC allow-list");
            c->sock.close(ec);
            return;
        }
        if (clients.size() >= kMaxTcpClients) {
            refuse(c->peer, "", "too many OSC TCP connections (32)");
            c->sock.close(ec);
            return;
        }
        c->sock.set_option(tcp::no_delay(true), ec);
        clients.insert(c);
        read(c);
    }

    void drop(const std::shared_ptr<TcpClient>& c) {
        boost::system::error_code ec;
        c->sock.close(ec);
        clients.erase(c);
    }

    void read(const std::shared_ptr<TcpClient>& c) {
        c->sock.async_read_some(net::buffer(c->buf), [self = weak_from_this(), c](boost::system::error_code ec, std::size_t n) {
            auto s = self.lock();
            if (!s || !s->clients.count(c)) return;
            if (ec) return s->drop(c);
            c->in.insert(c->in.end(), c->buf.begin(), c->buf.begin() + static_cast<std::ptrdiff_t>(n));
            if (!s->frames(c)) return s->drop(c);
            if (s->clients.count(c)) s->read(c);
        });
    }

    // Splits what arrived into packets; false when the stream is beyond repair.
    bool frames(const std::shared_ptr<TcpClient>& c) {
        auto& in = c->in;
        if (c->mode == TcpClient::Mode::unknown && !in.empty())
            c->mode = in[0] == 0xC0 ? TcpClient::Mode::slip : TcpClient::Mode::length;
        std::size_t used = 0;
        if (c->mode == TcpClient::Mode::length) {
            while (in.size() - used >= 4) {
                const std::uint32_t n = (std::uint32_t{in[used]} << 24) | (std::uint32_t{in[used + 1]} << 16) |
                                        (std::uint32_t{in[used + 2]} << 8) | in[used + 3];
                if (n == 0 || n > kOscMaxPacket) {
                    fail(c->peer, "", makeError(Errc::bad_request, "packet", "a TCP frame of " + std::to_string(n) + " bytes (1 to 65536)"));
                    return false;
                }
                if (in.size() - used - 4 < n) break;
                packet(c->peer, std::span<const std::uint8_t>(in.data() + used + 4, n));
                used += 4 + n;
                if (!clients.count(c)) return true;
            }
        } else if (c->mode == TcpClient::Mode::slip) {
            for (;;) {
                std::size_t start = used;
                while (start < in.size() && in[start] == 0xC0) ++start;  // empty frames
                used = start;
                std::size_t end = start;
                while (end < in.size() && in[end] != 0xC0) ++end;
                if (end == in.size()) {
                    if (end - start > 2 * kOscMaxPacket) {
                        fail(c->peer, "", makeError(Errc::bad_request, "packet", "a SLIP frame longer than 64 KiB"));
                        return false;
                    }
                    break;
                }
                std::vector<std::uint8_t> frame;
                frame.reserve(end - start);
                for (std::size_t i = start; i < end; ++i) {
                    if (in[i] == 0xDB && i + 1 < end) {
                        ++i;
                        frame.push_back(in[i] == 0xDC ? 0xC0 : in[i] == 0xDD ? 0xDB : in[i]);
                    } else {
                        frame.push_back(in[i]);
                    }
                }
                used = end + 1;
                packet(c->peer, frame);
                if (!clients.count(c)) return true;
            }
        }
        in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(used));
        return true;
    }

    void send(const Peer& p, std::string bytes) {
        if (p.tcp) {
            auto c = p.conn.lock();
            if (!c || !clients.count(c)) return;
            std::string framed;
            if (c->mode == TcpClient::Mode::slip) {
                framed.push_back(static_cast<char>(0xC0));
                for (unsigned char b : bytes) {
                    if (b == 0xC0) framed += "\xDB\xDC";
                    else if (b == 0xDB) framed += "\xDB\xDD";
                    else framed.push_back(static_cast<char>(b));
                }
                framed.push_back(static_cast<char>(0xC0));
            } else {
                const auto n = static_cast<std::uint32_t>(bytes.size());
                framed = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
                framed += bytes;
            }
            c->queued += framed.size();
            if (c->queued > kMaxTcpQueued) {
                log({0, 0, "control", "osc", p.name, "OSC client dropped: it does not read its replies", ""});
                return drop(c);
            }
            c->out.push_back(std::move(framed));
            write(c);
            return;
        }
        if (!udpSock) return;
        auto buf = std::make_shared<std::string>(std::move(bytes));
        udpSock->async_send_to(net::buffer(*buf), p.ep, [buf](boost::system::error_code, std::size_t) {});
    }

    void write(const std::shared_ptr<TcpClient>& c) {
        if (c->writing || c->out.empty()) return;
        c->writing = true;
        net::async_write(c->sock, net::buffer(c->out.front()), [self = weak_from_this(), c](boost::system::error_code ec, std::size_t) {
            auto s = self.lock();
            if (!s || !s->clients.count(c)) return;
            c->writing = false;
            c->queued -= c->out.front().size();
            c->out.pop_front();
            if (ec) return s->drop(c);
            s->write(c);
        });
    }

    // ------------------------------------------------------------ replies
    bool wantsReplies(const Peer& p) const {
        if (p.tcp) return true;
        auto it = udpReplies.find(p.ep);
        return it != udpReplies.end() && it->second >= Clock::now();
    }

    // cuebox: /cuebox/reply<address> ,ss status json. QLab style: /reply<address>
    // ,s {"address","status","data"} as QLab answers.
    void reply(const Peer& p, const std::string& address, const char* status, const std::string& data, bool qlab) {
        std::string bytes;
        if (qlab) {
            bytes = encodeOsc("/reply" + address,
                              {OscArg::text("{\"address\":" + json::serialize(json::value(address)) + ",\"status\":\"" + status +
                                            "\",\"data\":" + (data.empty() ? "null" : data) + "}")});
        } else {
            bytes = encodeOsc("/cuebox/reply" + address, {OscArg::text(status), OscArg::text(data.empty() ? "null" : data)});
        }
        if (!p.tcp && bytes.size() > kMaxUdpReply) {
            const std::string reason = "the reply is " + std::to_string(bytes.size()) + " bytes, more than one UDP datagram: ask over TCP";
            const std::string err = json::serialize(json::object{{"error", {{"field", "reply"}, {"reason", reason}}}});
            bytes = qlab ? encodeOsc("/reply" + address, {OscArg::text("{\"status\":\"error\",\"data\":" + err + "}")})
                         : encodeOsc("/cuebox/reply" + address, {OscArg::text("error"), OscArg::text(err)});
        }
        send(p, std::move(bytes));
    }

    void fail(const Peer& p, const std::string& address, const Error& e, bool qlab = false) {
        ++errors;
        logLimited(p, "OSC " + (address.empty() ? std::string("packet") : address) + ": " + (e.field.empty() ? "" : e.field + ": ") + e.reason,
                   "error " + e.field);
        if (wantsReplies(p)) reply(p, address, "error", json::serialize(errorJson(httpStatus(e.code), e)), qlab);
    }

    // At most one entry per source and kind every 10 s, so that a flood of
    // bad packets cannot flood the event log; the entry after a quiet spell
    // says how many were left out.
    void logLimited(const Peer& p, const std::string& detail, const std::string& kind) {
        if (auto text = logLimiter.admit(addrText(p.addr) + "|" + kind, detail)) log({0, 0, "control", "osc", p.name, *text, ""});
    }

    // Not acted on: counted, logged (once per source and reason every 10 s,
    // so a flood cannot flood the log), answered "denied" only to a client
    // that is let in but lacks the passcode.
    void refuse(const Peer& p, const std::string& address, const std::string& why) {
        ++refused;
        logLimited(p, "OSC refused" + (address.empty() ? std::string() : " " + address) + ": " + why, why);
    }

    // ------------------------------------------------------------ messages
    void packet(const Peer& p, std::span<const std::uint8_t> data) {
        ++received;
        const auto now = Clock::now();
        if (!access.allowed(p.addr)) return refuse(p, "", "not on the OSC allow-list");
        auto msgs = parseOscPacket(data);
        if (!msgs) return fail(p, "", msgs.error());
        for (const auto& m : *msgs) message(p, m, now);
    }

    bool authorised(const Peer& p, Clock::time_point now) {
        if (!access.passcodeRequired()) return true;
        if (p.tcp) {
            auto c = p.conn.lock();
            return c && c->authorised;
        }
        auto it = udpAuthorised.find(p.addr);
        if (it == udpAuthorised.end() || it->second < now) return false;
        it->second = now + kUdpLease;
        return true;
    }

    void message(const Peer& p, const OscMessage& m, Clock::time_point now) {
        auto r = parseOscCommand(m);
        if (!r && r.error().field == "address" && !activeMappings(show.show(), "osc", m.address).empty())
            return mapped(p, m, now);
        if (!r) return fail(p, m.address, r.error(), m.address.rfind("/cuebox", 0) != 0);
        if (r->kind == ControlRequest::Kind::connect) {
            auto& [wrong, since] = wrongPasscodes[p.addr];
            if (wrong >= 5 && now - since < std::chrono::seconds(30)) {
                refuse(p, m.address, "5 wrong passcodes: /connect refused for 30 s");
                return reply(p, m.address, r->qlab ? "denied" : "error",
                             R"({"error":{"status":409,"code":"conflict","field":"passcode","reason":"5 wrong passcodes: try again in 30 s"}})", r->qlab);
            }
            if (!access.passcodeOk(r->passcode)) {
                if (wrong >= 5) wrong = 0;
                if (++wrong == 5) since = now;
                if (wrongPasscodes.size() > 1024) wrongPasscodes.clear();
                refuse(p, m.address, "wrong passcode");
                return reply(p, m.address, r->qlab ? "denied" : "error",
                             R"({"error":{"status":403,"code":"forbidden","field":"passcode","reason":"wrong passcode"}})", r->qlab);
            }
            wrongPasscodes.erase(p.addr);
            if (p.tcp) {
                if (auto c = p.conn.lock()) c->authorised = true;
            } else if (access.passcodeRequired()) {
                udpAuthorised[p.addr] = now + kUdpLease;
                if (udpAuthorised.size() > 256) std::erase_if(udpAuthorised, [now](const auto& e) { return e.second < now; });
            }
            return reply(p, m.address, "ok", R"({"connected":true})", r->qlab);
        }
        if (!authorised(p, now)) {
            refuse(p, m.address, "no passcode: send /connect first");
            return reply(p, m.address, r->qlab ? "denied" : "error",
                         R"({"error":{"status":403,"code":"forbidden","field":"passcode","reason":"send /connect with the passcode first"}})",
                         r->qlab);
        }
        if (!p.tcp) {  // leases run on while the client is let in and talks
            if (auto it = udpSubscribers.find(p.ep); it != udpSubscribers.end()) it->second = now + kUdpLease;
            if (auto it = udpReplies.find(p.ep); it != udpReplies.end()) it->second = now + kUdpLease;
        }
        carryOut(p, m.address, *r);
    }

    // An address of the show's own (a control mapping with source osc):
    // what the mapping says, under the same passcode rule. A numeric first
    // argument is the value (a level mapping is MIDI CC only; a trigger
    // fires on any message, or on a value of 0.5 and up when it has one).
    void mapped(const Peer& p, const OscMessage& m, Clock::time_point now) {
        if (!authorised(p, now)) {
            refuse(p, m.address, "no passcode: send /connect first");
            return reply(p, m.address, "error",
                         R"({"error":{"status":403,"code":"forbidden","field":"passcode","reason":"send /connect with the passcode first"}})", false);
        }
        MidiInput in;
        in.source = "osc";
        in.address = m.address;
        bool fires = true;
        if (!m.args.empty() && m.args[0].numeric()) fires = m.args[0].f >= 0.5;  // a button's release sends 0
        if (!fires) return;
        for (const json::object* d : activeMappings(show.show(), "osc", m.address)) {
            auto r = requestFromMapping(*d, in, true);
            if (!r) {
                fail(p, m.address, r.error());
                continue;
            }
            if (*r) carryOut(p, m.address, **r);
        }
    }

    void carryOut(const Peer& p, const std::string& address, const ControlRequest& r) {
        using K = ControlRequest::Kind;
        if (r.kind == K::query) return query(p, address, r);
        if (r.kind == K::subscribe) {
            if (p.tcp) {
                if (auto c = p.conn.lock()) c->subscribed = r.value == 1;
            } else if (r.value == 1) {
                if (udpSubscribers.size() >= 64 && !udpSubscribers.count(p.ep))
                    return fail(p, address, makeError(Errc::conflict, "subscribe", "64 UDP subscribers already"));
                udpSubscribers[p.ep] = Clock::now() + kUdpLease;
            } else {
                udpSubscribers.erase(p.ep);
            }
            reply(p, address, "ok", json::serialize(json::object{{"subscribed", r.value == 1}, {"lease_s", p.tcp || r.value != 1 ? 0 : 61}}), false);
            if (r.value == 1) send(p, levelsMessage());
            return;
        }
        if (r.kind == K::replies) {
            if (!p.tcp) {
                const auto now = Clock::now();
                std::erase_if(udpReplies, [now](const auto& e) { return e.second < now; });
                if (r.value == 1) {
                    if (udpReplies.size() >= 256 && !udpReplies.count(p.ep))
                        return fail(p, address, makeError(Errc::conflict, "replies", "256 UDP clients with replies already"));
                    udpReplies[p.ep] = now + kUdpLease;
                } else {
                    udpReplies.erase(p.ep);
                }
            }
            return reply(p, address, "ok", json::serialize(json::object{{"replies", r.value == 1 || p.tcp}}), false);
        }
        ++commands;
        exec.run(r, p.name, [self = weak_from_this(), p, address, qlab = r.qlab](int status, std::string body) {
            auto s = self.lock();
            if (!s) return;
            if (status >= 400) {
                ++s->errors;
                const std::string why = describeError(body);
                s->logLimited(p, "OSC " + address + ": " + std::to_string(status) + " " + why, "api " + std::to_string(status));
                if (s->wantsReplies(p)) s->reply(p, address, "error", body, qlab);
                return;
            }
            // /select answers whether replies are on or not: it is a query of sorts.
            if (s->wantsReplies(p) || address.find("/select/") != std::string::npos || address.find("/playhead/") != std::string::npos)
                s->reply(p, address, "ok", body, qlab);
        });
    }

    void query(const Peer& p, const std::string& address, const ControlRequest& r) {
        const model::Show& sh = show.show();
        if (r.what == "ping") return reply(p, address, "ok", "\"pong\"", false);
        if (r.what == "show") return reply(p, address, "ok", show.snapshotText(), false);
        if (r.what == "stats") return reply(p, address, "ok", json::serialize(show.stats()), false);
        if (r.what == "state") return reply(p, address, "ok", json::serialize(show.live()), false);
        const json::object live = show.live();
        std::map<model::ClipId, std::string> states;
        if (auto* clips = live.if_contains("clips"); clips && clips->is_array())
            for (const auto& c : clips->as_array())
                if (c.is_object() && c.as_object().contains("id"))
                    states[c.as_object().at("id").to_number<model::ClipId>()] = std::string(c.as_object().at("state").as_string());
        if (r.what == "groups") {
            json::array groups;
            for (int g = 0; g < 4; ++g) {
                const char letter = static_cast<char>('A' + g);
                int clips = 0, playing = 0;
                for (const auto& c : sh.clips)
                    if (c.group == letter) {
                        ++clips;
                        if (states.count(c.id)) ++playing;
                    }
                const auto& bus = sh.audio.busses[static_cast<std::size_t>(g)];
                groups.push_back({{"group", std::string(1, letter)}, {"level_db", bus.levelDb}, {"choke", bus.choke},
                                  {"pfl", bus.pfl}, {"clips", clips}, {"playing", playing}});
            }
            return reply(p, address, "ok",
                         json::serialize(json::object{{"revision", show.revision()}, {"master_db", sh.audio.masterDb}, {"groups", std::move(groups)}}),
                         false);
        }
        // cells of one tab
        if (r.page >= static_cast<int>(sh.pages.size()))
            return fail(p, address, makeError(Errc::not_found, "page", "no page " + std::to_string(r.page + 1)));
        const auto& tab = sh.pages[static_cast<std::size_t>(r.page)].tabs[static_cast<std::size_t>(r.tab)];
        json::array cells;
        for (const auto& c : sh.cells) {
            if (c.page != r.page || c.tab != r.tab || c.row >= tab.grid.rows || c.col >= tab.grid.cols) continue;
            const model::Clip* clip = sh.findClip(c.clip);
            if (!clip) continue;
            auto st = states.find(c.clip);
            cells.push_back({{"row", c.row + 1}, {"col", c.col + 1}, {"clip", c.clip}, {"label", clip->label},
                             {"color", clip->color}, {"group", std::string(1, clip->group)},
                             {"state", st == states.end() ? "idle" : st->second}});
        }
        reply(p, address, "ok",
              json::serialize(json::object{{"revision", show.revision()}, {"page", r.page + 1}, {"tab", r.tab + 1}, {"name", tab.name},
                                           {"rows", tab.grid.rows}, {"cols", tab.grid.cols}, {"cells", std::move(cells)}}),
              false);
    }

    // ------------------------------------------------------------ pushes
    std::string levelsMessage() const {
        const auto& a = show.show().audio;
        std::vector<OscArg> args{OscArg::number(a.masterDb)};
        for (int g = 0; g < 4; ++g) args.push_back(OscArg::number(a.busses[static_cast<std::size_t>(g)].levelDb));
        return encodeOsc("/cuebox/levels", args);
    }

    bool anySubscriber() const {
        if (!udpSubscribers.empty()) return true;
        for (const auto& c : clients)
            if (c->subscribed) return true;
        return false;
    }

    void push(const std::string& bytes) {
        const auto now = Clock::now();
        std::erase_if(udpSubscribers, [now](const auto& e) { return e.second < now; });
        for (const auto& [ep, until] : udpSubscribers) {
            Peer p;
            p.ep = ep;
            send(p, bytes);
        }
        std::vector<std::shared_ptr<TcpClient>> tcpSubs;
        for (const auto& c : clients)
            if (c->subscribed) tcpSubs.push_back(c);
        for (const auto& c : tcpSubs) send(c->peer, bytes);
    }

    void publish(const json::object& msg) {
        if (!anySubscriber()) return;
        const auto* type = msg.if_contains("type");
        if (!type || !type->is_string()) return;
        const std::string_view t = type->as_string();
        if (t == "event") {
            const auto* ev = msg.if_contains("event");
            const auto* clip = msg.if_contains("clip");
            if (!ev || !ev->is_string() || !clip || !clip->is_number()) return;
            const std::string_view e = ev->as_string();
            const auto id = static_cast<std::int64_t>(clip->to_number<double>());
            if (e == "clip_started") push(encodeOsc("/cuebox/clip/started", {OscArg::integer(id)}));
            else if (e == "clip_stopped") push(encodeOsc("/cuebox/clip/stopped", {OscArg::integer(id)}));
            return;
        }
        if (t == "state") {
            const auto now = Clock::now();
            if (now - lastProgress < kProgressEvery) return;
            lastProgress = now;
            std::string levels = levelsMessage();
            if (levels != lastLevels) {
                lastLevels = levels;
                push(levels);
            }
            const auto* live = msg.if_contains("live");
            const json::value* clips = live && live->is_object() ? live->as_object().if_contains("clips") : nullptr;
            std::vector<OscArg> args;
            if (clips && clips->is_array())
                for (const auto& c : clips->as_array()) {
                    if (!c.is_object()) continue;
                    const auto& o = c.as_object();
                    auto num = [&o](const char* k) { auto* v = o.if_contains(k); return v && v->is_number() ? v->to_number<double>() : 0.0; };
                    auto* st = o.if_contains("state");
                    args.push_back(OscArg::integer(static_cast<std::int64_t>(num("id"))));
                    args.push_back(OscArg::text(st && st->is_string() ? std::string(st->as_string()) : ""));
                    args.push_back(OscArg::number(num("position_s")));
                    args.push_back(OscArg::number(num("remaining_s")));
                }
            if (args.empty() && progressWasEmpty) return;
            progressWasEmpty = args.empty();
            push(encodeOsc("/cuebox/progress", args));
        }
    }
};

OscServer::OscServer(net::io_context& io, ShowService& show, ControlAccess& access, ControlExec& exec, Log log)
    : impl_(std::make_shared<Impl>(io, show, access, exec, std::move(log))) {}

OscServer::~OscServer() { impl_->close(); }

Status OscServer::start(std::string bind, int portOverride) {
    impl_->bind = std::move(bind);
    impl_->portOverride = portOverride;
    return impl_->open();
}

Status OscServer::reconfigure() {
    const bool enabled = impl_->access.oscEnabled();
    const int want = impl_->portOverride ? impl_->portOverride : impl_->access.oscPort();
    if (enabled && impl_->udpSock && impl_->udpSock->local_endpoint().port() == want) {
        std::vector<std::shared_ptr<TcpClient>> out;
        for (const auto& c : impl_->clients)
            if (!impl_->access.allowed(c->peer.addr)) out.push_back(c);
        for (const auto& c : out) impl_->drop(c);
        // Settings changed: everyone lets in again under the new ones, and
        // nobody keeps getting pushes or replies on the strength of the old.
        for (const auto& c : impl_->clients) {
            c->authorised = false;
            c->subscribed = false;
        }
        impl_->udpAuthorised.clear();
        impl_->udpSubscribers.clear();
        impl_->udpReplies.clear();
        return {};
    }
    return impl_->open();
}

void OscServer::publish(const json::object& msg) { impl_->publish(msg); }

unsigned short OscServer::port() const {
    boost::system::error_code ec;
    return impl_->udpSock ? impl_->udpSock->local_endpoint(ec).port() : 0;
}

json::object OscServer::stats() const {
    std::size_t subs = impl_->udpSubscribers.size();
    for (const auto& c : impl_->clients) subs += c->subscribed ? 1 : 0;
    return {{"listening", impl_->udpSock.has_value()}, {"port", port()},     {"received", impl_->received},
            {"commands", impl_->commands},              {"refused", impl_->refused}, {"errors", impl_->errors},
            {"tcp_clients", impl_->clients.size()},     {"subscribers", subs}};
}

}  // namespace cuebox::web
