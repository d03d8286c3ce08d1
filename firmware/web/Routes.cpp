#include "web/Routes.h"

#include <array>

namespace cuebox::web {

namespace {
constexpr Role P = Role::public_;
constexpr Role V = Role::viewer;
constexpr Role O = Role::operator_;
constexpr Role D = Role::designer;
constexpr Role A = Role::admin;

// Reading is viewing; performing (clip commands, stops, panic, recording,
// the lock, and safety copies that change nothing: a recovery point, a
// backup) is the operator's; every other change to a show is the
// designer's; what can lose or replace a whole show or the store, or opens
// the box to remote control, is the admin's.
//
// PATCH /api/settings/{section} is designer here, but section "platform"
// (the box's name, place and time zone) is the admin's: a path template
// cannot say so, so the access check special-cases it.
constexpr std::array kRoutes = {
    // The show and the live state.
    Route{"GET", "/api/show", V, "", "The loaded show and the live state (the snapshot)"},
    Route{"PATCH", "/api/show", D, "view_mode,active_page", "Rename the show or change its view mode or active page"},
    Route{"GET", "/api/show/stats", V, "", "Counts and aggregates of the loaded show"},
    Route{"GET", "/api/health", P, "", "Health of the web process, engine, store and system"},
    Route{"GET", "/api/clock/history", V, "", "The time sources' last 10 minutes (one sample a second each) and their last switches"},
    Route{"GET", "/api/ws", V, "", "WebSocket: snapshot, edits, live state and events; clip commands"},
    Route{"GET", "/api/openapi.yaml", V, "", "This API description (OpenAPI 3.0)"},
    Route{"GET", "/metrics", V, "", "The box's figures in the Prometheus text format"},
    // Access: the session, users, tokens.
    Route{"GET", "/api/session", P, "", "Who this request is logged in as, and whether the box needs setting up"},
    Route{"POST", "/api/setup", P, "", "Set the first administrator (only while the box has no users)"},
    Route{"POST", "/api/login", P, "", "Log in with a user name and password or PIN (sets the session cookie)"},
    Route{"POST", "/api/logout", V, "", "End this session"},
    Route{"POST", "/api/session/password", V, "", "Change your own password or PIN"},
    Route{"GET", "/api/users", A, "", "The box's users and their roles"},
    Route{"POST", "/api/users", A, "", "Add a user"},
    Route{"PATCH", "/api/users/{name}", A, "", "Change a user's role, password or PIN"},
    Route{"DELETE", "/api/users/{name}", A, "", "Delete a user with their sessions and tokens"},
    Route{"GET", "/api/tokens", A, "", "The bearer tokens for scripts and controllers"},
    Route{"POST", "/api/tokens", A, "", "Make a bearer token (its secret is shown once)"},
    Route{"DELETE", "/api/tokens/{id}", A, "", "Revoke a bearer token"},
    // The show lock.
    Route{"GET", "/api/lock", V, "", "Whether the show is locked for performing"},
    Route{"POST", "/api/lock", O, "", "Lock the show for performing with a PIN"},
    Route{"POST", "/api/unlock", O, "", "Unlock the show with its PIN"},
    // Remote control (a box setting, not the show's).
    Route{"GET", "/api/control", V, "", "Who may drive the box by OSC"},
    Route{"PATCH", "/api/control/osc", A, "", "Change OSC remote control: on/off, port, allow-list, passcode"},
    Route{"PATCH", "/api/control/midi", A, "", "Change which JACK ports may stay connected to cuebox:midi_in"},
    // Performing.
    Route{"POST", "/api/clips/{id}/start", O, "", "Start a clip"},
    Route{"POST", "/api/clips/{id}/stop", O, "", "Stop a clip (fades out)"},
    Route{"POST", "/api/clips/{id}/toggle", O, "", "Start a clip, or stop it when it plays"},
    Route{"POST", "/api/clips/{id}/press", O, "", "A tap on a clip's cell, acted on by its play mode"},
    Route{"POST", "/api/clips/{id}/release", O, "", "The end of a tap (a gate clip fades out)"},
    Route{"POST", "/api/clips/{id}/pause", O, "", "Pause a playing clip"},
    Route{"POST", "/api/clips/{id}/resume", O, "", "Resume a paused clip"},
    Route{"POST", "/api/clips/{id}/audition", O, "", "Play a clip on the audition voice (monitor)"},
    Route{"POST", "/api/audition/stop", O, "", "Stop the audition voice"},
    Route{"POST", "/api/groups/{group}/stop", O, "", "Stop every voice of a clip group"},
    Route{"POST", "/api/panic", O, "", "Fade out everything (a second panic within the fade stops at once)"},
    Route{"POST", "/api/record/{bus}/start", O, "", "Start recording an input pair"},
    Route{"POST", "/api/record/{bus}/stop", O, "", "Stop recording an input pair"},
    // Clips.
    Route{"POST", "/api/clips", D, "", "Add a clip from a library media record or a file"},
    Route{"GET", "/api/clips/{id}", V, "", "One clip"},
    Route{"PATCH", "/api/clips/{id}", D, "", "Edit a clip"},
    Route{"DELETE", "/api/clips/{id}", D, "", "Delete a clip with its cells and mappings"},
    // Layout.
    Route{"POST", "/api/pages", D, "", "Append a page with 8 empty tabs"},
    Route{"PATCH", "/api/pages/{page}", D, "active_tab", "Rename a page or change its active tab"},
    Route{"DELETE", "/api/pages/{page}", D, "", "Delete a page and its cells"},
    Route{"PATCH", "/api/pages/{page}/tabs/{tab}", D, "", "Rename or resize a tab"},
    Route{"PUT", "/api/pages/{page}/tabs/{tab}/cells/{row}/{col}", D, "", "Put a clip in a cell, or empty it"},
    Route{"POST", "/api/cells/move", D, "", "Move a cell's clip (an occupied target swaps)"},
    // Audio.
    Route{"PATCH", "/api/audio", D, "master_db,monitor_db", "Set the master and monitor levels or the fade defaults"},
    Route{"PATCH", "/api/audio/busses/{bus}", D, "level_db", "Set a bus's level, choke mode or pre-fade listen"},
    Route{"PATCH", "/api/audio/outputs/{output}", D, "", "Set an output's level or format"},
    Route{"PUT", "/api/audio/routing", D, "", "Set or remove a routing crosspoint"},
    // Settings, mappings, search.
    Route{"GET", "/api/settings", V, "", "Every settings section with its schema"},
    Route{"PATCH", "/api/settings/{section}", D, "", "Edit members of a settings section"},
    Route{"GET", "/api/mappings", V, "", "The control mappings (OSC, MIDI, MSC, keys)"},
    Route{"POST", "/api/mappings", D, "", "Add a control mapping"},
    Route{"POST", "/api/mappings/learn", D, "", "Add a control mapping from the next MIDI or MSC message"},
    Route{"PUT", "/api/mappings/{id}", D, "", "Replace a control mapping"},
    Route{"DELETE", "/api/mappings/{id}", D, "", "Delete a control mapping"},
    Route{"GET", "/api/search", V, "", "Search clips by label or file name"},
    // Shows.
    Route{"GET", "/api/shows", V, "", "The shows on the box"},
    Route{"POST", "/api/shows", D, "", "Create an empty show"},
    Route{"POST", "/api/shows/import", D, "", "Import a show bundle (uploaded, or a file on the box)"},
    Route{"PATCH", "/api/shows/{id}", D, "", "Rename a show"},
    Route{"DELETE", "/api/shows/{id}", A, "", "Delete a show (after a backup of the store)"},
    Route{"POST", "/api/shows/{id}/duplicate", D, "", "Duplicate a show"},
    Route{"POST", "/api/shows/{id}/load", D, "", "Load a show"},
    Route{"POST", "/api/shows/{id}/export", D, "", "Export a show as a bundle to the export folder"},
    // History and recovery points.
    Route{"GET", "/api/history", V, "", "The loaded show's change history, newest first"},
    Route{"POST", "/api/undo", D, "", "Undo the newest edit"},
    Route{"POST", "/api/redo", D, "", "Redo the newest undone edit"},
    Route{"GET", "/api/recovery", V, "", "The loaded show's recovery points"},
    Route{"POST", "/api/recovery", O, "", "Take a named recovery point"},
    Route{"DELETE", "/api/recovery/{id}", D, "", "Delete a recovery point"},
    Route{"POST", "/api/recovery/{id}/restore", D, "", "Restore the show to a recovery point"},
    // Backups.
    Route{"GET", "/api/backups", V, "", "The store's backups, each validated"},
    Route{"POST", "/api/backups", O, "", "Take a backup of the store"},
    Route{"POST", "/api/backups/{name}/restore", A, "", "Restore the store from a backup"},
    // Log, exports, the box.
    Route{"GET", "/api/log", V, "", "The event log as JSON, CSV or XML"},
    Route{"GET", "/api/exports", V, "", "The show bundles in the export folder"},
    Route{"GET", "/api/exports/{name}", V, "", "Download a show bundle"},
    Route{"GET", "/api/platform", V, "", "Platform data: OS, hardware, engine, limits"},
    Route{"GET", "/api/store", V, "", "The store's format, state and migrations"},
    // Field updates (RAUC).
    Route{"GET", "/api/firmware", V, "", "The firmware, the image, its A/B slots, the uploaded bundle and the install job"},
    Route{"POST", "/api/firmware/bundle", A, "", "Upload a firmware bundle (RAUC) to check"},
    Route{"POST", "/api/firmware/install", A, "", "Install the checked firmware bundle into the other slot"},
    Route{"POST", "/api/firmware/reboot", A, "", "Ask the box to restart (into newly installed firmware)"},
    Route{"GET", "/api/firmware/keys", A, "", "The certificates trusted for firmware bundles: the image's and the owner's"},
    Route{"POST", "/api/firmware/keys", A, "", "Enrol an owner signing certificate (PEM) for firmware bundles"},
    Route{"DELETE", "/api/firmware/keys/{name}", A, "", "Remove an enrolled owner signing certificate"},
    // The media library.
    Route{"GET", "/api/media", V, "", "The show's media library and its jobs"},
    Route{"POST", "/api/media/upload", D, "", "Upload a media file to import"},
    Route{"POST", "/api/media/import", D, "", "Import media from a file or folder on the box, or a recording"},
    Route{"GET", "/api/media/jobs", V, "", "Imports, media checks and renders"},
    Route{"GET", "/api/media/jobs/{id}", V, "", "One media job"},
    Route{"DELETE", "/api/media/jobs/{id}", D, "", "Cancel a media job"},
    Route{"POST", "/api/media/check", D, "", "Check every clip's media file"},
    Route{"GET", "/api/media/missing", V, "", "Clips whose media is missing, with candidates"},
    Route{"POST", "/api/media/missing/{clip}/relink", D, "", "Relink a clip to a file"},
    Route{"GET", "/api/media/renders", V, "", "Tempo and pitch renders the show needs"},
    Route{"GET", "/api/media/{id}", V, "", "One media record with its waveform and beats"},
    Route{"DELETE", "/api/media/{id}", D, "", "Delete a media record (and its project files)"},
};

bool isParam(std::string_view seg) { return seg.size() >= 3 && seg.front() == '{' && seg.back() == '}'; }

// Takes the next segment off `p` (which starts at a '/'): false at the end.
bool nextSegment(std::string_view& p, std::string_view& seg) {
    if (p.empty() || p.front() != '/') return false;
    p.remove_prefix(1);
    const std::size_t slash = p.find('/');
    seg = p.substr(0, slash);
    p = slash == std::string_view::npos ? std::string_view{} : p.substr(slash);
    return true;
}

// Whether `path` fits template `tmpl`; `rank` then has a bit per segment,
// the first segment highest, set where the template's segment is literal:
// the larger rank is the more specific template at the first difference.
bool fits(std::string_view tmpl, std::string_view path, std::uint32_t& rank) {
    rank = 0;
    std::uint32_t bit = 1u << 31;
    std::string_view t, s;
    while (true) {
        const bool moreT = nextSegment(tmpl, t), moreP = nextSegment(path, s);
        if (!moreT || !moreP) return moreT == moreP;
        if (s.empty() || bit == 0) return false;
        if (isParam(t)) {
            // One whole segment, never a part of one.
        } else if (t == s) {
            rank |= bit;
        } else {
            return false;
        }
        bit >>= 1;
    }
}

// The most specific template `path` fits, or empty.
std::string_view bestPath(std::string_view path) {
    if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
    std::string_view best;
    std::uint32_t bestRank = 0;
    for (const Route& r : kRoutes) {
        std::uint32_t rank = 0;
        if (fits(r.path, path, rank) && (best.empty() || rank > bestRank)) {
            best = r.path;
            bestRank = rank;
        }
    }
    return best;
}
}  // namespace

std::span<const Route> routes() { return kRoutes; }

const Route* matchRoute(std::string_view method, std::string_view path) {
    const std::string_view tmpl = bestPath(path);
    if (tmpl.empty()) return nullptr;
    for (const Route& r : kRoutes)
        if (r.path == tmpl && r.method == method) return &r;
    return nullptr;
}

bool pathKnown(std::string_view path) { return !bestPath(path).empty(); }

const char* roleName(Role r) {
    switch (r) {
    case Role::public_: return "public";
    case Role::viewer: return "viewer";
    case Role::operator_: return "operator";
    case Role::designer: return "designer";
    case Role::admin: return "admin";
    }
    return "?";
}

}  // namespace cuebox::web
