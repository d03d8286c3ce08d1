"""A JACK MIDI test client in a process of its own (libjack keeps one
server's shared memory per process, so a test process that has been a
client of one dummy server cannot reliably become a client of the next).

    python3 midi_client.py SERVER

Connects its `out` to cuebox:midi_in and cuebox:midi_out to its `in`, prints
"ready", then reads commands on stdin, one per line:
    send <hex bytes>     queue one MIDI message for the next cycle
    connections          prints "connections <port> ..." of its `out`
    connect              connects its `out` to cuebox:midi_in again
and prints every MIDI message it receives as "recv <hex bytes>"."""
import queue
import sys
import threading

import jack


def main():
    client = jack.Client("midi-test", servername=sys.argv[1], no_start_server=True)
    out = client.midi_outports.register("out")
    inp = client.midi_inports.register("in")
    pending = queue.Queue()
    lock = threading.Lock()

    def emit(line):
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    @client.set_process_callback
    def process(frames):
        out.clear_buffer()
        while True:
            try:
                msg = pending.get_nowait()
            except queue.Empty:
                break
            out.write_midi_event(0, msg)
        for _, data in inp.incoming_midi_events():
            emit("recv " + bytes(data).hex())

    client.activate()
    client.connect(out, "cuebox:midi_in")
    client.connect("cuebox:midi_out", inp)
    emit("ready")
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "send":
            pending.put(bytes.fromhex(arg))
        elif cmd == "connections":
            emit("connections " + " ".join(p.name for p in client.get_all_connections(out)))
        elif cmd == "connect":
            client.connect(out, "cuebox:midi_in")
            emit("connected")
    client.deactivate()
    client.close()


if __name__ == "__main__":
    main()
