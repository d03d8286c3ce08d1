#include "engine/jack/JackDriver.h"

#include <jack/jack.h>

#include <pthread.h>
#include <sched.h>

#include <array>
#include <cstring>
#include <mutex>

namespace cuebox::engine {

struct JackDriver::Impl {
    JackDriver* owner = nullptr;
    jack_client_t* client = nullptr;
    std::array<jack_port_t*, kOutputs> outs{};
    Engine* engine = nullptr;
    bool connectOutputs = true;
    bool active = false;

    static int process(jack_nframes_t n, void* arg) {
        auto* self = static_cast<Impl*>(arg);
        std::array<float*, kOutputs> bufs;
        for (int i = 0; i < kOutputs; ++i)
            bufs[static_cast<std::size_t>(i)] = static_cast<float*>(jack_port_get_buffer(self->outs[static_cast<std::size_t>(i)], n));
        self->engine->process(n, bufs.data(), jack_last_frame_time(self->client));
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
    for (int i = 0; i < kOutputs; ++i) {
        const std::string name = "out_" + std::to_string(i + 1);
        impl->outs[static_cast<std::size_t>(i)] =
            jack_port_register(impl->client, name.c_str(), JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
        if (!impl->outs[static_cast<std::size_t>(i)])
            return makeError(Errc::internal, "jack", "jack: cannot register port " + name);
    }
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
    return s;
}

}  // namespace cuebox::engine
