#include "sync/MidiClock.h"

#include <algorithm>
#include <cmath>

namespace cuebox::sync {

namespace {
constexpr int kTicksPerBeat = 24;
constexpr int kTicksPerSixteenth = 6;
constexpr double kDriftSeconds = 3;
}  // namespace

const char* midiClockStateName(MidiClockStatus::State s) {
    switch (s) {
    case MidiClockStatus::State::none: return "none";
    case MidiClockStatus::State::locked: return "locked";
    case MidiClockStatus::State::lost: return "lost";
    }
    return "none";
}

MidiClock::MidiClock(int sampleRate) : sampleRate_(sampleRate) {}

MidiClock::Event MidiClock::feed(const std::uint8_t* b, std::size_t n, std::uint64_t frame) {
    if (n == 0) return Event::none;
    switch (b[0]) {
    case 0xF8:
        if (n != 1) return Event::none;
        onTick(frame);
        return Event::tick;
    case 0xFA:
        if (n != 1) return Event::none;
        status_.running = true;
        status_.songPositionTicks = 0;
        anchor();
        rephase_ = true;
        return Event::start;
    case 0xFB:
        if (n != 1) return Event::none;
        status_.running = true;
        anchor();
        rephase_ = true;
        return Event::continue_;
    case 0xFC:
        if (n != 1) return Event::none;
        status_.running = false;
        return Event::stop;
    case 0xF2:
        if (n != 3 || b[1] > 0x7F || b[2] > 0x7F) return Event::none;
        status_.songPositionTicks = kTicksPerSixteenth * (std::int64_t{b[1]} | std::int64_t{b[2]} << 7);
        anchor();
        return Event::songPosition;
    default: return Event::none;
    }
}

void MidiClock::anchor() {
    anchorX_ = nextIndex_;
    anchorPos_ = status_.songPositionTicks;
}

double MidiClock::lossFrames() const { return std::max(0.5 * sampleRate_, haveFit_ ? 3 * b_ : 0.0); }

void MidiClock::tick(std::uint64_t now) {
    if (!heard_ || now <= lastTick_ || static_cast<double>(now - lastTick_) <= lossFrames()) return;
    if (status_.state == MidiClockStatus::State::locked) {
        status_.state = MidiClockStatus::State::lost;
        if (status_.running) ++status_.dropouts;
    }
    // The tempo probably survives a gap; the phase does not.
    if (n_ > 0) restart(true);
}

void MidiClock::restart(bool keepSlope) {
    carried_ = keepSlope ? (haveFit_ ? b_ : carried_) : 0;
    n_ = head_ = 0;
    haveFit_ = false;
    sigma_ = 0;
    bad_ = good_ = 0;
    pending_ = 0;
    historyN_ = historyHead_ = 0;
}

void MidiClock::onTick(std::uint64_t frame) {
    tick(frame);  // a tick after a long gap: judged as silence first
    ++status_.ticks;
    std::int64_t x = nextIndex_++;
    if (status_.running) ++status_.songPositionTicks;
    heard_ = true;
    lastTick_ = frame;

    if (haveFit_ && n_ >= kMinFit) {
        const double r = static_cast<double>(static_cast<std::int64_t>(frame - ref_)) - predict(x);
        const double tol = std::max(0.35 * b_, 6 * sigma_);
        const double k = std::round(r / b_);
        if (std::fabs(r) <= tol) {
            bad_ = 0;
            pending_ = 0;
        } else if (rephase_) {
            restart(true);  // the source restarted its clock: same tempo, new phase
        } else if (bad_ == 1 && pending_ > 0 && std::fabs(r - static_cast<double>(pending_) * b_) <= tol) {
            // The previous tick came whole ticks late and this one agrees:
            // ticks were lost on the way (a JACK cycle skipped, a byte
            // dropped) and the song went on with them.
            x += pending_;
            nextIndex_ += pending_;
            if (status_.running) status_.songPositionTicks += pending_;
            status_.missedTicks += static_cast<std::uint64_t>(pending_);
            bad_ = 0;
            pending_ = 0;
        } else {
            pending_ = bad_ == 0 && k >= 1 && std::fabs(r - k * b_) <= tol ? static_cast<std::int64_t>(k) : 0;
            if (++bad_ < 3) return;  // one late or early stamp: left out
            ++status_.jumps;
            restart(false);
            if (status_.state == MidiClockStatus::State::locked) status_.state = MidiClockStatus::State::none;
        }
    }
    rephase_ = false;
    xs_[static_cast<std::size_t>(head_)] = x;
    ys_[static_cast<std::size_t>(head_)] = frame;
    head_ = (head_ + 1) % kWindow;
    n_ = std::min(n_ + 1, kWindow);
    refit();
    if (++good_ >= kLock) status_.state = MidiClockStatus::State::locked;
    if (haveFit_) {
        status_.bpm = 60.0 * sampleRate_ / (kTicksPerBeat * b_);
        status_.jitterUs = sigma_ / sampleRate_ * 1e6;
        if (n_ >= kLock) updateDrift(frame);
    }
}

// Least squares through the window's (index, stamp) points, both taken
// relative to the oldest point so the sums stay small. With fewer than
// kMinFit points a slope carried over a restart is kept (only the phase is
// fitted); without one, two points make a line.
void MidiClock::refit() {
    const int oldest = (head_ - n_ + kWindow) % kWindow;
    ref_ = ys_[static_cast<std::size_t>(oldest)];
    xref_ = xs_[static_cast<std::size_t>(oldest)];
    double sx = 0, sy = 0;
    for (int i = 0; i < n_; ++i) {
        const auto k = static_cast<std::size_t>((oldest + i) % kWindow);
        sx += static_cast<double>(xs_[k] - xref_);
        sy += static_cast<double>(static_cast<std::int64_t>(ys_[k] - ref_));
    }
    const double mx = sx / n_, my = sy / n_;
    double sxx = 0, sxy = 0;
    for (int i = 0; i < n_; ++i) {
        const auto k = static_cast<std::size_t>((oldest + i) % kWindow);
        const double dx = static_cast<double>(xs_[k] - xref_) - mx;
        const double dy = static_cast<double>(static_cast<std::int64_t>(ys_[k] - ref_)) - my;
        sxx += dx * dx;
        sxy += dx * dy;
    }
    double b = 0;
    if ((n_ >= kMinFit || carried_ <= 0) && sxx > 0) b = sxy / sxx;
    else if (carried_ > 0) b = carried_;
    haveFit_ = b > 0;
    if (!haveFit_) return;
    b_ = b;
    a_ = my - b * mx;
    sigma_ = 0;
    if (n_ >= kMinFit) {
        double ss = 0;
        for (int i = 0; i < n_; ++i) {
            const auto k = static_cast<std::size_t>((oldest + i) % kWindow);
            const double r = static_cast<double>(static_cast<std::int64_t>(ys_[k] - ref_)) - predict(xs_[k]);
            ss += r * r;
        }
        sigma_ = std::sqrt(ss / (n_ - 2));
    }
}

double MidiClock::predict(std::int64_t x) const { return a_ + b_ * static_cast<double>(x - xref_); }

void MidiClock::updateDrift(std::uint64_t frame) {
    history_[static_cast<std::size_t>(historyHead_)] = Estimate{frame, status_.bpm};
    historyHead_ = (historyHead_ + 1) % kHistory;
    historyN_ = std::min(historyN_ + 1, kHistory);
    const double since = static_cast<double>(frame) - kDriftSeconds * sampleRate_;
    double s = 0, ss = 0;
    int m = 0;
    for (int i = 0; i < historyN_; ++i) {
        const Estimate& e = history_[static_cast<std::size_t>((historyHead_ - 1 - i + kHistory) % kHistory)];
        if (static_cast<double>(e.frame) < since) break;
        s += e.bpm;
        ss += e.bpm * e.bpm;
        ++m;
    }
    if (m < 2) {
        status_.driftPpm = 0;
        return;
    }
    const double mean = s / m;
    const double var = std::max(0.0, (ss - m * mean * mean) / (m - 1));
    status_.driftPpm = std::sqrt(var) / mean * 1e6;
}

std::optional<std::uint64_t> MidiClock::tickFrame(std::int64_t position) const {
    if (!status_.running || !haveFit_) return std::nullopt;
    const double f = static_cast<double>(ref_) + predict(anchorX_ + (position - anchorPos_));
    if (f < 0) return std::nullopt;
    return static_cast<std::uint64_t>(std::llround(f));
}

std::optional<std::uint64_t> MidiClock::beatFrame(std::int64_t beat) const { return tickFrame(beat * kTicksPerBeat); }

std::optional<MidiClock::Beat> MidiClock::nextBeat(std::uint64_t afterFrame) const {
    if (!status_.running || !haveFit_) return std::nullopt;
    // The song position at afterFrame, then the beat at or after it
    // (checked against the rounded frames the beats are reported at).
    const double x = (static_cast<double>(static_cast<std::int64_t>(afterFrame - ref_)) - a_) / b_ + static_cast<double>(xref_);
    const double pos = static_cast<double>(anchorPos_) + (x - static_cast<double>(anchorX_));
    // Beats before the song's start (position 0) are never played.
    auto k = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::ceil(pos / kTicksPerBeat)));
    for (int i = 0; i < 2; ++i) {
        auto f = k > 0 ? beatFrame(k - 1) : std::nullopt;
        if (f && *f >= afterFrame) --k;
    }
    for (int i = 0; i < 2; ++i) {
        auto f = beatFrame(k);
        if (!f || *f < afterFrame) ++k;
    }
    auto f = beatFrame(k);
    if (!f) return std::nullopt;
    return Beat{k, *f};
}

std::optional<std::uint64_t> MidiClock::nextBeatFrame(std::uint64_t afterFrame) const {
    auto b = nextBeat(afterFrame);
    if (!b) return std::nullopt;
    return b->frame;
}

}  // namespace cuebox::sync
