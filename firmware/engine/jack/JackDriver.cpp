#include "engine/jack/JackDriver.h"

#include <jack/jack.h>
#include <jack/midiport.h>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <vector>
#include <cstring>
#include <mutex>

extern "C" {
void cuebox_rt_section_begin() __attribute__((weak));
void cuebox_rt_section_end() __attribute__((weak));
}

namespace cuebox::engine {

struct JackDriver::Impl {
    JackDriver* owner = nullptr;
    jack_client_t* client = nullptr;
    std::vector<jack_port_t*> outs;  // out_1..out_N, monitor_1, monitor_2
    std::vector<jack_port_t*> ins;   // rec_a_1/2, rec_b_1/2, ltc_in (read by later features)
    std::vector<float*> bufs;        // sized once, reused by the process thread
    std::vector<const float*> inBufs;
    jack_port_t* midiIn = nullptr;   // control input: notes, CC, program change, MSC
    jack_port_t* midiOut = nullptr;  // feedback: a grid controller's pads
    std::array<jack_port_t*, 4> syncIn{};  // sync_in_1..4: MTC and MIDI clock (time sources)
    Engine* engine = nullptr;
    bool connectOutputs = true;
    bool active = false;

    static int process(jack_nframes_t n, void* arg) {
        auto* self = static_cast<Impl*>(arg);
        // Markers for the LD_PRELOAD RT checker (test/tools/rtguard); null
        // without it.
        if (cuebox_rt_section_begin) cuebox_rt_section_begin();
        for (std::size_t i = 0; i < self->outs.size(); ++i)
            self->bufs[i] = static_cast<float*>(jack_port_get_buffer(self->outs[i], n));
        for (std::size_t i = 0; i < self->ins.size(); ++i)
            self->inBufs[i] = static_cast<const float*>(jack_port_get_buffer(self->ins[i], n));
        const jack_nframes_t blockFrame = jack_last_frame_time(self->client);
        // MIDI in before the block, so a note is seen in the cycle it came.
        void* mi = jack_port_get_buffer(self->midiIn, n);
        const std::uint32_t count = jack_midi_get_event_count(mi);
        for (std::uint32_t i = 0; i < count; ++i) {
            jack_midi_event_t ev;
            if (jack_midi_event_get(&ev, mi, i) == 0) self->engine->midi().received(ev.buffer, ev.size, blockFrame + ev.time);
        }
        for (std::size_t p = 0; p < self->syncIn.size(); ++p) {
            void* si = jack_port_get_buffer(self->syncIn[p], n);
            const std::uint32_t k = jack_midi_get_event_count(si);
            for (std::uint32_t i = 0; i < k; ++i) {
                jack_midi_event_t ev;
                if (jack_midi_event_get(&ev, si, i) == 0)
                    self->engine->midi().received(ev.buffer, ev.size, blockFrame + ev.time, static_cast<std::uint8_t>(p + 1));
            }
        }
        self->engine->process(n, self->inBufs.data(), self->bufs.data(), blockFrame);
        void* mo = jack_port_get_buffer(self->midiOut, n);
        jack_midi_clear_buffer(mo);
        self->engine->midi().drainOut([mo](const std::uint8_t* data, std::size_t size) {
            jack_midi_event_write(mo, 0, data, size);  // a full port buffer drops it (feedback is refreshed)
        });
        if (cuebox_rt_section_end) cuebox_rt_section_end();
        return 0;
    }
    static int xrun(void* arg) {
        static_cast<Impl*>(arg)->owner->xruns_.fetch_add(1, std::memory_order_relaxed);
        return 0;
    }
    static void shutdown(void* arg) { static_cast<Impl*>(arg)->owner->shutdown_.store(true); }
};

JackDriver::JackDriver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->owner = this; }

JackDriver::~JackDriver() {
    stop();
    if (impl_->client) jack_client_close(impl_->client);
}

Result<std::unique_ptr<JackDriver>> JackDriver::open(const JackOptions& o) {
    auto impl = std::make_unique<Impl>();
    jack_status_t status{};
    const int opts = JackNoStartServer | (o.serverName.empty() ? 0 : JackServerName);
    impl->client = o.serverName.empty()
                       ? jack_client_open(o.clientName.c_str(), static_cast<jack_options_t>(opts), &status)
                       : jack_client_open(o.clientName.c_str(), static_cast<jack_options_t>(opts), &status,
                                          o.serverName.c_str());
    if (!impl->client)
        return makeError(Errc::unavailable, "jack",
                         "jack: cannot connect to the JACK server" +
                             (o.serverName.empty() ? std::string() : " '" + o.serverName + "'") + " (status 0x" +
                             [&] { char b[16]; std::snprintf(b, sizeof b, "%x", status); return std::string(b); }() + ")");
    if (status & JackNameNotUnique)
        return makeError(Errc::conflict, "jack", "jack: a client named '" + o.clientName + "' is already running");
    const int outputs = std::clamp(o.outputs, 1, kMaxOutputs);
    std::vector<std::string> outNames, inNames = {"rec_a_1", "rec_a_2", "rec_b_1", "rec_b_2", "ltc_in"};
    for (int i = 0; i < outputs; ++i) outNames.push_back("out_" + std::to_string(i + 1));
    outNames.push_back("monitor_1");
    outNames.push_back("monitor_2");
    for (const auto& name : outNames) {
        jack_port_t* p = jack_port_register(impl->client, name.c_str(), JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
        if (!p) return makeError(Errc::internal, "jack", "jack: cannot register port " + name);
        impl->outs.push_back(p);
    }
    for (const auto& name : inNames) {
        jack_port_t* p = jack_port_register(impl->client, name.c_str(), JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        if (!p) return makeError(Errc::internal, "jack", "jack: cannot register port " + name);
        impl->ins.push_back(p);
    }
    impl->midiIn = jack_port_register(impl->client, "midi_in", JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, 0);
    impl->midiOut = jack_port_register(impl->client, "midi_out", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
    if (!impl->midiIn || !impl->midiOut) return makeError(Errc::internal, "jack", "jack: cannot register the MIDI ports");
    for (std::size_t p = 0; p < impl->syncIn.size(); ++p) {
        const std::string name = "sync_in_" + std::to_string(p + 1);
        impl->syncIn[p] = jack_port_register(impl->client, name.c_str(), JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, 0);
        if (!impl->syncIn[p]) return makeError(Errc::internal, "jack", "jack: cannot register port " + name);
    }
    impl->bufs.assign(impl->outs.size(), nullptr);
    impl->inBufs.assign(impl->ins.size(), nullptr);
    impl->connectOutputs = o.connectOutputs;
    std::unique_ptr<JackDriver> d(new JackDriver(std::move(impl)));
    jack_set_process_callback(d->impl_->client, &Impl::process, d->impl_.get());
    jack_set_xrun_callback(d->impl_->client, &Impl::xrun, d->impl_.get());
    jack_on_shutdown(d->impl_->client, &Impl::shutdown, d->impl_.get());
    return d;
}

int JackDriver::sampleRate() const { return static_cast<int>(jack_get_sample_rate(impl_->client)); }
int JackDriver::bufferSize() const { return static_cast<int>(jack_get_buffer_size(impl_->client)); }
std::uint64_t JackDriver::frameTime() const { return jack_frame_time(impl_->client); }
std::string JackDriver::clientName() const { return jack_get_client_name(impl_->client); }

Status JackDriver::start(Engine& engine) {
    impl_->engine = &engine;
    if (jack_activate(impl_->client) != 0) return makeError(Errc::internal, "jack", "jack: cannot activate the client");
    impl_->active = true;
    if (impl_->connectOutputs) {
        const char** ports =
            jack_get_ports(impl_->client, nullptr, JACK_DEFAULT_AUDIO_TYPE, JackPortIsPhysical | JackPortIsInput);
        for (int i = 0; ports && ports[i] && i < 2; ++i)
            jack_connect(impl_->client, jack_port_name(impl_->outs[static_cast<std::size_t>(i)]), ports[i]);
        if (ports) jack_free(ports);
    }
    return {};
}

void JackDriver::stop() {
    if (impl_->active) jack_deactivate(impl_->client);
    impl_->active = false;
}

bool JackDriver::midiConnected() const { return jack_port_connected(impl_->midiIn) > 0; }

std::vector<std::string> JackDriver::midiSources() const {
    std::vector<std::string> out;
    if (const char** c = jack_port_get_all_connections(impl_->client, impl_->midiIn)) {
        for (int i = 0; c[i]; ++i) out.emplace_back(c[i]);
        jack_free(c);
    }
    return out;
}

bool JackDriver::syncConnected() const {
    for (auto* p : impl_->syncIn)
        if (jack_port_connected(p) > 0) return true;
    return false;
}

// Device selection: `source` (another client's output port) patched to our
// input `ownPort` ("ltc_in", "sync_in_2"), the other sources unpatched. ""
// leaves the port's connections as they are.
std::string JackDriver::patchInput(const std::string& ownPort, const std::string& source) {
    if (source.empty()) return "";
    const std::string own = std::string(jack_get_client_name(impl_->client)) + ":" + ownPort;
    jack_port_t* p = jack_port_by_name(impl_->client, own.c_str());
    if (!p) return "no port " + own;
    if (const char** c = jack_port_get_all_connections(impl_->client, p)) {
        for (int i = 0; c[i]; ++i)
            if (source != c[i]) jack_disconnect(impl_->client, c[i], own.c_str());
        jack_free(c);
    }
    if (jack_port_connected_to(p, source.c_str())) return "";
    if (!jack_port_by_name(impl_->client, source.c_str())) return "no JACK port " + source;
    if (jack_connect(impl_->client, source.c_str(), own.c_str()) != 0) return "cannot connect " + source + " to " + own;
    return "";
}

bool JackDriver::disconnectMidiSource(const std::string& port) {
    return jack_disconnect(impl_->client, port.c_str(), jack_port_name(impl_->midiIn)) == 0;
}

// Asked from a control thread about the process thread: JACK promotes that
// thread to SCHED_FIFO after its init callback, so this is the only reliable
// place to look.
SchedInfo JackDriver::sched() const {
    SchedInfo s;
    if (!impl_->active) return s;
    int policy = 0;
    sched_param p{};
    if (pthread_getschedparam(jack_client_thread_id(impl_->client), &policy, &p) != 0) return s;
    s.policy = policy == SCHED_FIFO ? "SCHED_FIFO" : policy == SCHED_RR ? "SCHED_RR" : "SCHED_OTHER";
    s.priority = p.sched_priority;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (pthread_getaffinity_np(jack_client_thread_id(impl_->client), sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &set)) s.cpus.push_back(c);
    return s;
}

std::string JackDriver::setProcessCpu(int cpu) {
    if (!impl_->active) return "the JACK client is not running";
    cpu_set_t set;
    CPU_ZERO(&set);
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpu >= 0) {
        if (cpu >= n) return "there is no CPU " + std::to_string(cpu) + " (this box has " + std::to_string(n) + ")";
        CPU_SET(cpu, &set);
    } else {
        for (int c = 0; c < n && c < CPU_SETSIZE; ++c) CPU_SET(c, &set);
    }
    const int rc = pthread_setaffinity_np(jack_client_thread_id(impl_->client), sizeof set, &set);
    return rc == 0 ? "" : std::string("cannot set the process thread's CPU: ") + std::strerror(rc);
}

}  // namespace cuebox::engine
