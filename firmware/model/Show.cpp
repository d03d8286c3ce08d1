#include "model/Show.h"

#include <algorithm>
#include <cmath>

namespace cuebox::model {

const Clip* Show::findClip(ClipId id) const {
    auto it = std::lower_bound(clips.begin(), clips.end(), id, [](const Clip& c, ClipId v) { return c.id < v; });
    return it != clips.end() && it->id == id ? &*it : nullptr;
}

Clip* Show::findClip(ClipId id) {
    return const_cast<Clip*>(static_cast<const Show*>(this)->findClip(id));
}

const MediaRecord* Show::findMedia(const std::string& id) const {
    auto it = std::lower_bound(media.begin(), media.end(), id, [](const MediaRecord& m, const std::string& v) { return m.id < v; });
    return it != media.end() && it->id == id ? &*it : nullptr;
}

const MediaCheck* Show::findCheck(ClipId clip) const {
    auto it = std::lower_bound(checks.begin(), checks.end(), clip, [](const MediaCheck& c, ClipId v) { return c.clip < v; });
    return it != checks.end() && it->clip == clip ? &*it : nullptr;
}

double clipBpm(const Clip& c, const Show& s) {
    if (c.bpm) return *c.bpm;
    const MediaRecord* m = c.media.empty() ? nullptr : s.findMedia(c.media);
    return m ? m->bpm() : 0.0;
}

std::optional<RenderNeed> renderNeed(const Clip& c, const Show& s) {
    if (c.media.empty() || !s.findMedia(c.media)) return std::nullopt;
    RenderNeed n;
    n.pitchSemitones = std::abs(c.pitchSemitones) < 0.005 ? 0.0 : c.pitchSemitones;
    if (c.tempoSync) {
        const double from = clipBpm(c, s);
        double to = 0;
        if (auto t = s.settings.find("transport"); t != s.settings.end())
            if (auto* b = t->second.if_contains("tempo_bpm"); b && b->is_number()) to = b->to_number<double>();
        if (from > 0 && to > 0) n.timeRatio = from / to;
    }
    if (std::abs(n.timeRatio - 1.0) < 1e-5 && n.pitchSemitones == 0.0) return std::nullopt;
    return n;
}

Page makePage(std::string name) {
    Page p;
    p.name = std::move(name);
    for (int i = 0; i < kTabsPerPage; ++i) p.tabs[static_cast<std::size_t>(i)].name = "Tab " + std::to_string(i + 1);
    return p;
}

bool validColor(const std::string& c) {
    if (c.size() != 7 || c[0] != '#') return false;
    return std::all_of(c.begin() + 1, c.end(), [](char ch) {
        return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
    });
}

bool validGroup(char g) { return g >= 'A' && g <= 'D'; }

bool validTimecodeText(const std::string& t) {
    if (t.size() != 11 || t[2] != ':' || t[5] != ':' || (t[8] != ':' && t[8] != ';')) return false;
    const int lim[4] = {23, 59, 59, 29};
    for (int k = 0; k < 4; ++k) {
        const char a = t[static_cast<std::size_t>(k * 3)], b = t[static_cast<std::size_t>(k * 3 + 1)];
        if (a < '0' || a > '9' || b < '0' || b > '9' || (a - '0') * 10 + (b - '0') > lim[k]) return false;
    }
    return true;
}

namespace {
template <typename E, std::size_t N>
bool parseFrom(const std::array<const char*, N>& names, const std::string& s, E& out) {
    for (std::size_t i = 0; i < N; ++i)
        if (s == names[i]) {
            out = static_cast<E>(i);
            return true;
        }
    return false;
}
constexpr std::array<const char*, 4> kModes{"one_shot", "toggle", "retrigger", "gate"};
constexpr std::array<const char*, 4> kSecond{"stop", "fade_out", "restart", "nothing"};
constexpr std::array<const char*, 4> kCurves{"linear", "equal_power", "exponential", "s_curve"};
}  // namespace

EffectiveFades effectiveFades(const Clip& c, const FadeDefaults& d) {
    EffectiveFades e;
    e.in = {c.fadeInMs.value_or(d.in.ms), c.fadeInCurve.value_or(d.in.curve)};
    e.out = {c.fadeOutMs.value_or(d.out.ms), c.fadeOutCurve.value_or(d.out.curve)};
    e.crossfade = {c.crossfadeMs.value_or(d.crossfade.ms), c.crossfadeCurve.value_or(d.crossfade.curve)};
    e.powerComp = c.powerComp.value_or(d.inPowerComp && d.outPowerComp);
    return e;
}

const char* name(PlayMode m) { return kModes[static_cast<std::size_t>(m)]; }
const char* name(SecondPress p) { return kSecond[static_cast<std::size_t>(p)]; }
const char* name(FadeCurve c) { return kCurves[static_cast<std::size_t>(c)]; }
bool parse(const std::string& s, PlayMode& m) { return parseFrom(kModes, s, m); }
bool parse(const std::string& s, SecondPress& p) { return parseFrom(kSecond, s, p); }
bool parse(const std::string& s, FadeCurve& c) { return parseFrom(kCurves, s, c); }

}  // namespace cuebox::model
