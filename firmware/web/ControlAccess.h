// Who may drive the box by OSC: on/off, the port, an allow-list of source
// networks and an optional passcode (a controller sends /connect first, as
// with QLab). A box record in the store (`control`), so it survives restarts
// and backup restores leave it alone. io thread only.
#pragma once

#include "base/Error.h"
#include "store/Store.h"

#include <boost/asio/ip/address.hpp>
#include <boost/json/object.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace cuebox::web {

// One allow-list entry: "192.168.1.0/24", "10.0.0.7", "fd00::/8".
struct Cidr {
    boost::asio::ip::address net;
    int bits = 0;
    std::string text;
    bool contains(const boost::asio::ip::address& a) const;
};
Result<Cidr> parseCidr(const std::string& s);

class ControlAccess {
public:
    static constexpr int kDefaultOscPort = 53100;

    explicit ControlAccess(store::Store& store) : store_(store) {}
    // Reads the record (defaults when there is none).
    Status load();

    // {"osc":{"enabled","port","allow":[...],"passcode_set"}}: never the passcode.
    boost::json::object toJson() const;
    // PATCH /api/control/osc: any of enabled, port (1024-65535), allow (up to
    // 32 entries), passcode (4-32 printable characters, or null to drop it).
    // Errors name osc.<member>; nothing changes on error. Logged.
    Status patchOsc(const boost::json::value& body, const store::Origin& origin);

    // Puts `old`'s settings back (after the server could not apply new ones).
    Status restore(const ControlAccess& old, const store::Origin& origin);

    bool oscEnabled() const { return oscEnabled_; }
    int oscPort() const { return oscPort_; }
    // An empty list lets every source in.
    bool allowed(const boost::asio::ip::address& a) const;
    bool passcodeRequired() const { return !passHash_.empty(); }
    bool passcodeOk(const std::string& passcode) const;

    // PATCH /api/control/midi: `allow`, up to 32 JACK port name patterns
    // (fnmatch globs, e.g. "a2j:Launchpad*"); only ports matching one may
    // stay connected to cuebox:midi_in ([] lets every port in). Errors name
    // midi.<member>. Logged.
    Status patchMidi(const boost::json::value& body, const store::Origin& origin);
    const std::vector<std::string>& midiAllow() const { return midiAllow_; }

private:
    boost::json::object record() const;
    store::Store& store_;
    bool oscEnabled_ = true;
    int oscPort_ = kDefaultOscPort;
    std::vector<Cidr> allow_;
    std::string passSalt_, passHash_;
    std::vector<std::string> midiAllow_;
};

}  // namespace cuebox::web
