#include "sync/Clock.h"

#include "base/Time.h"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace cuebox::sync {

std::int64_t monotonicNs() { return cuebox::monotonicNs(); }

namespace {
constexpr const char* kKindNames[kKinds] = {"internal", "ptp", "ltc", "mtc", "midi_clock"};
}

const char* kindName(Kind k) { return kKindNames[static_cast<int>(k)]; }

std::optional<Kind> kindFromName(std::string_view name) {
    for (int k = 0; k < kKinds; ++k)
        if (name == kKindNames[k]) return static_cast<Kind>(k);
    return std::nullopt;
}

std::string SourceId::name() const {
    std::string n = kindName(kind);
    if (kind == Kind::mtc || kind == Kind::midi_clock) n += ":" + std::to_string(port + 1);
    return n;
}

const char* healthName(Health h) {
    switch (h) {
    case Health::off: return "off";
    case Health::absent: return "absent";
    case Health::acquiring: return "acquiring";
    case Health::locked: return "locked";
    case Health::degraded: return "degraded";
    case Health::lost: return "lost";
    case Health::refused: return "refused";
    }
    return "absent";
}

// --- SourceMonitor -------------------------------------------------------

void SourceMonitor::setPresent(bool present, std::int64_t nowNs) {
    if (present == present_) return;
    present_ = present;
    if (present) {
        seen_ = true;
        restart(nowNs);
    }
}

void SourceMonitor::restart(std::int64_t nowNs) {
    count_ = head_ = 0;
    driftCount_ = driftHead_ = 0;
    lastDriftNs_ = 0;
    presentSince_ = nowNs;
}

void SourceMonitor::observe(std::int64_t localNs, double offsetNs) {
    local_[head_] = localNs;
    offset_[head_] = offsetNs;
    head_ = (head_ + 1) % kWindow;
    count_ = std::min(count_ + 1, kWindow);
    // One drift estimate a second: their spread is the instability.
    if (count_ >= 3 && localNs - lastDriftNs_ >= 1'000'000'000) {
        double slope = 0, rms = 0;
        fit(slope, rms);
        drifts_[driftHead_] = slope * 1e6;
        driftHead_ = (driftHead_ + 1) % drifts_.size();
        driftCount_ = std::min(driftCount_ + 1, drifts_.size());
        lastDriftNs_ = localNs;
    }
}

// Least squares of offset on local time over the window (times relative to
// the newest point, so doubles keep their precision).
void SourceMonitor::fit(double& slope, double& rms) const {
    slope = rms = 0;
    if (count_ < 2) return;
    const std::size_t newest = (head_ + kWindow - 1) % kWindow;
    const std::int64_t t0 = local_[newest];
    const double o0 = offset_[newest];
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (std::size_t i = 0; i < count_; ++i) {
        const std::size_t k = (head_ + kWindow - 1 - i) % kWindow;
        if (t0 - local_[k] > kWindowNs) break;
        const double x = static_cast<double>(local_[k] - t0), y = offset_[k] - o0;
        n += 1;
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    const double den = n * sxx - sx * sx;
    if (n < 2 || den <= 0) return;
    slope = (n * sxy - sx * sy) / den;
    const double icept = (sy - slope * sx) / n;
    double ss = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        const std::size_t k = (head_ + kWindow - 1 - i) % kWindow;
        const double x = static_cast<double>(local_[k] - t0), y = offset_[k] - o0;
        const double r = y - (icept + slope * x);
        ss += r * r;
    }
    rms = std::sqrt(ss / n);
}

Measures SourceMonitor::measures(const Limits& l) const {
    Measures m;
    m.points = count_;
    if (!count_) return m;
    m.offsetNs = offset_[(head_ + kWindow - 1) % kWindow];
    double slope = 0, rms = 0;
    fit(slope, rms);
    m.driftPpm = slope * 1e6;
    m.jitterNs = rms;
    if (driftCount_ >= 2) {
        double mean = 0;
        for (std::size_t i = 0; i < driftCount_; ++i) mean += drifts_[i];
        mean /= static_cast<double>(driftCount_);
        double var = 0;
        for (std::size_t i = 0; i < driftCount_; ++i) var += (drifts_[i] - mean) * (drifts_[i] - mean);
        m.instabilityPpm = std::sqrt(var / static_cast<double>(driftCount_));
    }
    if (count_ < 3) return m;  // quality 0: not judged yet
    const double worst = std::max({std::fabs(m.driftPpm) / std::max(l.maxDriftPpm, 1e-9),
                                   m.jitterNs / 1000.0 / std::max(l.maxJitterUs, 1e-9),
                                   m.instabilityPpm / std::max(l.maxInstabilityPpm, 1e-9)});
    m.quality = 1.0 / (1.0 + worst);
    return m;
}

// --- Arbiter -------------------------------------------------------------

Arbiter::Arbiter() = default;

std::size_t Arbiter::slot(SourceId id) const {
    switch (id.kind) {
    case Kind::internal: return 0;
    case Kind::ptp: return 1;
    case Kind::ltc: return 2;
    case Kind::mtc: return 3 + static_cast<std::size_t>(id.port);
    case Kind::midi_clock: return 3 + kMidiPorts + static_cast<std::size_t>(id.port);
    }
    return 0;
}

SourceMonitor& Arbiter::monitor(SourceId id) {
    return const_cast<SourceMonitor&>(static_cast<const Arbiter*>(this)->monitor(id));
}

const SourceMonitor& Arbiter::monitor(SourceId id) const {
    const int p = std::clamp(id.port, 0, kMidiPorts - 1);
    switch (id.kind) {
    case Kind::mtc: return mtc_[static_cast<std::size_t>(p)];
    case Kind::midi_clock: return clock_[static_cast<std::size_t>(p)];
    default: return single_[slot(id)];
    }
}

const SourceConfig& Arbiter::cfg(SourceId id) const {
    if (id.kind == Kind::mtc || id.kind == Kind::midi_clock) return config_.midiPorts[static_cast<std::size_t>(id.port)];
    return config_.kinds[static_cast<std::size_t>(id.kind)];
}

// A MIDI clock has no rate to drift from (its tempo is what it is): it is
// judged by the jitter of its ticks about the tempo fit only.
Limits Arbiter::limitsOf(SourceId id) const {
    Limits l = cfg(id).limits;
    if (id.kind == Kind::midi_clock) l.maxDriftPpm = l.maxInstabilityPpm = 1e12;
    return l;
}

int Arbiter::rank(Kind k) const {
    const auto it = std::find(config_.order.begin(), config_.order.end(), k);
    if (it != config_.order.end()) return static_cast<int>(it - config_.order.begin());
    return k == Kind::internal ? static_cast<int>(config_.order.size()) : -1;  // -1: not in the order, never used
}

std::vector<SourceId> Arbiter::instances(Kind k) const {
    if (k != Kind::mtc && k != Kind::midi_clock) return {SourceId{k, 0}};
    std::vector<SourceId> out;
    for (int p = 0; p < kMidiPorts; ++p) out.push_back(SourceId{k, p});
    return out;
}

void Arbiter::configure(const ClockConfig& c, std::int64_t nowNs) {
    config_ = c;
    (void)nowNs;  // the next update() judges the active source against the new settings
}

Health Arbiter::judge(SourceId id, std::int64_t nowNs) const {
    if (id.kind == Kind::internal) return Health::locked;
    const bool midi = id.kind == Kind::mtc || id.kind == Kind::midi_clock;
    if (!config_.kinds[static_cast<std::size_t>(id.kind)].enabled || (midi && !cfg(id).enabled) || rank(id.kind) < 0)
        return Health::off;
    const SourceMonitor& m = monitor(id);
    if (!m.seen()) return Health::absent;
    if (m.refused()) return Health::refused;
    if (!m.present()) return Health::lost;
    const Measures ms = m.measures(limitsOf(id));
    if (nowNs - m.presentSinceNs() < static_cast<std::int64_t>(config_.acquireMs) * 1'000'000 || ms.points < 3)
        return Health::acquiring;
    return ms.quality < limitsOf(id).qualityThreshold || !m.fault().empty() ? Health::degraded : Health::locked;
}

Health Arbiter::health(SourceId id, std::int64_t nowNs) const { return judge(id, nowNs); }

bool Arbiter::usable(SourceId id, std::int64_t nowNs) const {
    const Health h = judge(id, nowNs);
    if (h == Health::locked) return true;
    // The source in use is kept through a short degradation.
    const std::int64_t since = degradedSince_[slot(id)];
    return id == active_ && h == Health::degraded && since && nowNs - since < static_cast<std::int64_t>(config_.holdMs) * 1'000'000;
}

// The first kind in the order with a usable instance; among a kind's MIDI
// ports (equal priority) the one in use if it is usable, else the best.
// Without automatic failover only the primary and the box's clock count.
std::optional<SourceId> Arbiter::best(std::int64_t nowNs, const SourceId* except) const {
    for (std::size_t i = 0; i < config_.order.size(); ++i) {
        const Kind k = config_.order[i];
        if (!config_.autoFailover && i > 0 && k != Kind::internal) continue;
        if (k == Kind::internal) return SourceId{};
        std::optional<SourceId> pick;
        double q = -1;
        for (const SourceId id : instances(k)) {
            if ((except && id == *except) || !usable(id, nowNs)) continue;
            if (id == active_) return id;
            const double qi = monitor(id).measures(limitsOf(id)).quality;
            if (qi > q) pick = id, q = qi;
        }
        if (pick) return pick;
    }
    return SourceId{};  // the box's own clock: the last resort
}

std::optional<Switch> Arbiter::update(std::int64_t nowNs) {
    for (int k = 0; k < kKinds; ++k)
        for (const SourceId id : instances(static_cast<Kind>(k))) {
            const Health h = judge(id, nowNs);
            auto& d = degradedSince_[slot(id)];
            auto& l = lockedSince_[slot(id)];
            d = h == Health::degraded ? (d ? d : nowNs) : 0;
            l = h == Health::locked ? (l ? l : nowNs) : 0;
        }
    const Health h = judge(active_, nowNs);
    auto switchTo = [&](SourceId to, bool emergency, const char* reason) -> std::optional<Switch> {
        Switch s;
        s.from = active_;
        s.emergency = emergency;
        s.reason = reason;
        s.detectedNs = nowNs;
        s.freewheelNs = monotonicNs();
        active_ = s.to = to;
        freewheelSince_ = 0;
        s.selectedNs = monotonicNs();
        return s;
    };
    if (h == Health::lost || h == Health::off || h == Health::refused || h == Health::absent) {
        // What a loss does is the kind's setting (the MIDI ports share it).
        if (h == Health::lost && config_.kinds[static_cast<std::size_t>(active_.kind)].onLoss == OnLoss::freewheel) {
            // Freewheel on the lost source's last rate for holdMs first.
            if (!freewheelSince_) freewheelSince_ = nowNs;
            if (nowNs - freewheelSince_ < static_cast<std::int64_t>(config_.holdMs) * 1'000'000) return std::nullopt;
        }
        // Phase 1: stop following the lost source (the engine runs on its
        // own audio clock all along, so nothing audible changes); phase 2:
        // the next usable source.
        Switch s;
        s.from = active_;
        s.emergency = h == Health::lost;
        s.reason = h == Health::lost ? "lost" : h == Health::refused ? "refused" : h == Health::off ? "disabled" : "lost";
        s.detectedNs = nowNs;
        freewheelSince_ = freewheelSince_ ? freewheelSince_ : nowNs;
        s.freewheelNs = monotonicNs();
        const SourceId from = active_;
        active_ = best(nowNs, &from).value_or(SourceId{});
        freewheelSince_ = 0;
        s.to = active_;
        s.selectedNs = monotonicNs();
        return s;
    }
    freewheelSince_ = 0;
    if (h == Health::degraded && !usable(active_, nowNs)) {
        const SourceId from = active_;
        const SourceId to = best(nowNs, &from).value_or(SourceId{});
        if (!(to == from)) return switchTo(to, false, "degraded");
    }
    // Recovery: a source higher in the order, locked long enough.
    const int here = rank(active_.kind);
    for (std::size_t i = 0; i < config_.order.size() && static_cast<int>(i) < here; ++i) {
        const Kind k = config_.order[i];
        if (!config_.autoFailover && i > 0) break;
        if (k == Kind::internal) break;
        std::optional<SourceId> pick;
        double q = -1;
        for (const SourceId id : instances(k)) {
            const std::int64_t since = lockedSince_[slot(id)];
            if (!since || nowNs - since < static_cast<std::int64_t>(config_.recoverMs) * 1'000'000) continue;
            const double qi = monitor(id).measures(limitsOf(id)).quality;
            if (qi > q) pick = id, q = qi;
        }
        if (pick) return switchTo(*pick, false, "recovered");
    }
    return std::nullopt;
}

std::vector<SourceView> Arbiter::sources(std::int64_t now) const {
    std::vector<SourceView> out;
    std::vector<Kind> kinds = config_.order;
    for (int k = 0; k < kKinds; ++k)
        if (std::find(kinds.begin(), kinds.end(), static_cast<Kind>(k)) == kinds.end()) kinds.push_back(static_cast<Kind>(k));
    for (const Kind k : kinds)
        for (const SourceId id : instances(k)) {
            SourceView v;
            v.id = id;
            v.health = judge(id, now);
            if (k == Kind::internal) v.measures.quality = 1;
            else v.measures = monitor(id).measures(limitsOf(id));
            out.push_back(v);
        }
    return out;
}

}  // namespace cuebox::sync
