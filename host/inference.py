r"""Inference on a device: input spikes in, the last layer's output per step back.

For each sample the device's state is cleared, the input spikes of step :math:`n` are sent as
event words (the indices that spike, then the end-of-step word) in ``RUN`` frames, and the output
buffer is read until every step's end-of-step word came back. Output group :math:`n` holds the
spikes :math:`s_L[n+1]`, that is ``spikeforge.model.run(...).spikes[-1][:, n]``. A non-spiking
(LI) readout emits no events: its membrane potential is read with ``READ_STATE`` after each step
instead (``u[-1][:, n]``).

The host keeps at most ``output_depth // (n_out + 1)`` steps in flight, so the output buffer
never fills and the device never stalls the link.

Before the first sample the device is brought to a known state (:func:`start_clean`): ``CLEAR``
(which drops whatever a previous, interrupted client left in the output buffer), then the
counters must show an empty output buffer and every step sent finished; outputs of an older
bitstream whose ``CLEAR`` keeps the buffer are read and dropped until they do.
"""

import numpy as np

from ..link.protocol import EVENT_MARKER, MAX_PAYLOAD, STATE_RECORD_BYTES, ProtocolError, Status

__all__ = ["OutputGroups", "run_on_device", "send_words", "start_clean"]

#: ``READ_OUTPUT`` frames :func:`start_clean` spends draining before it gives up
DRAIN_READS = 64


def _step_words(x_step):
    return [int(j) for j in np.flatnonzero(x_step)] + [EVENT_MARKER]


class OutputGroups:
    """Output words → one list of neuron indices per completed step."""

    def __init__(self, device):
        self.device = device
        self.groups = []
        self.current = []

    def read_until(self, steps):
        while len(self.groups) < steps:
            for word in self.device.read_output():
                if word == EVENT_MARKER:
                    self.groups.append(self.current)
                    self.current = []
                else:
                    self.current.append(word)


def send_words(send, words):
    """Send event words in frames of at most ``MAX_PAYLOAD // 2`` with ``send`` (the driver's
    ``run_events`` or ``learn_events``); every word must be accepted."""
    per_frame = MAX_PAYLOAD // 2
    for start in range(0, len(words), per_frame):
        chunk = words[start:start + per_frame]
        accepted, _ = send(chunk)
        if accepted != len(chunk):
            raise RuntimeError(f"the device accepted {accepted} of {len(chunk)} words "
                               f"(output buffer full)")


def start_clean(device):
    """``CLEAR`` the device and make sure no output of an earlier run is left in its output
    buffer (``output_level`` 0, ``steps == steps_sent``); raise ``RuntimeError`` otherwise."""
    for _ in range(DRAIN_READS):
        try:
            device.clear()
        except ProtocolError as exc:  # an older bitstream: CLEAR waits on a full buffer
            if exc.status != Status.BUSY:
                raise
            device.read_output()
            continue
        counters = device.counters()
        if counters["output_level"] == 0 and counters["steps"] == counters["steps_sent"]:
            return
        device.read_output()
    raise RuntimeError(f"the device's output buffer is still not empty after {DRAIN_READS} "
                       "reads: reset the device")


def run_on_device(device, network, spikes):
    """Run ``spikes`` (batch, T, n_in) on ``device``; return a dict of numpy arrays.

    ``spikes``: (batch, T, n_out) of the last layer (spiking layers), ``u``: (batch, T, n_out)
    (LI readouts only), ``scores`` and ``predictions`` by ``network.readout``, ``counters`` (the
    device's counters after the run).
    """
    from ..model import Readout

    x = np.asarray(spikes, dtype=np.uint8)
    info = device.info()
    batch, steps, n_in = x.shape
    if n_in != info.layers[0].n_in:
        raise ValueError(f"inputs have {n_in} channels, the device's network "
                         f"{info.layers[0].n_in}")
    n_out = info.layers[-1].n
    last = len(info.layers) - 1
    spiking = network.layers[-1].params.spiking
    out = np.zeros((batch, steps, n_out), np.int64)
    u = np.zeros((batch, steps, n_out), np.int64)
    in_flight = max(1, info.output_depth // (n_out + 1) - 1) if spiking else 1
    per_frame = MAX_PAYLOAD // 2
    per_read = MAX_PAYLOAD // STATE_RECORD_BYTES
    start_clean(device)
    for b in range(batch):
        device.clear()
        outputs = OutputGroups(device)
        t = sent = 0
        while t < steps:
            words, batch_steps = [], 0
            while t < steps and batch_steps + sent - len(outputs.groups) < in_flight:
                step = _step_words(x[b, t])
                if words and len(words) + len(step) > per_frame:
                    break
                words += step
                batch_steps += 1
                t += 1
            if not batch_steps:  # as many steps in flight as the output buffer can hold
                outputs.read_until(len(outputs.groups) + 1)
                continue
            send_words(device.run_events, words)
            sent += batch_steps
            if not spiking:  # the LI membrane of this step, read once the step is done
                outputs.read_until(sent)
                for start in range(0, n_out, per_read):
                    count = min(per_read, n_out - start)
                    records = device.read_state(last, start, count)
                    u[b, t - 1, start:start + count] = [r[1] for r in records]
        outputs.read_until(steps)
        for step, group in enumerate(outputs.groups[:steps]):
            out[b, step, group] = 1
    if network.readout is Readout.SPIKE_COUNT:
        scores = out.sum(axis=1)
    elif network.readout is Readout.MEMBRANE_MAX:
        scores = u.max(axis=1)
    else:
        scores = u.sum(axis=1)
    return {"spikes": out, "u": u, "scores": scores, "predictions": np.argmax(scores, axis=1),
            "counters": device.counters()}
