r"""The host link's ``LEARN`` decoder: a payload word as a learning-core command.

The words of a ``LEARN`` payload (:mod:`spikeforge.link.protocol`) and the
:class:`~spikeforge.hdl.learning_events.LearningCommand` each becomes:

==============================================  ==========  =============================
word                                            kind        addr
==============================================  ==========  =============================
``k`` < 0x8000 (input spike of ``k``)           ``INPUT``   ``k``
``EVENT_MARKER`` (0xFFFF, end of step)          ``STEP``    0
``LEARN_TRIAL_LEARN`` / ``LEARN_TRIAL_FREEZE``  ``END``     1 (learn) / 0 (freeze)
``LEARN_TARGET | k`` (target spike of ``k``)    ``TARGET``  ``k``
==============================================  ==========  =============================

``in_range``: the word means something in this design (an input below ``n_in``, a target below
``n_out``, or one of the three markers); the executor refuses a payload with any other word.
Combinational: compares against constants only.
"""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..link.protocol import EVENT_MARKER, LEARN_TRIAL_FREEZE, LEARN_TRIAL_LEARN
from .learning_events import CommandLayout, LearningCommand

__all__ = ["LearnWordDecoder"]


class LearnWordDecoder(wiring.Component):
    """One ``LEARN`` word of a design with ``n_in`` inputs and ``n_out`` outputs.

    Ports
    -----
    word : In(16)
    command : Out(CommandLayout)
    trial_end : Out(1)
        ``word`` ends a trial (learn or freeze).
    in_range : Out(1)
    """

    def __init__(self, *, n_in, n_out):
        self.n_in = n_in
        self.n_out = n_out
        super().__init__({"word": In(16), "command": Out(CommandLayout), "trial_end": Out(1),
                          "in_range": Out(1)})

    def elaborate(self, platform):
        m = Module()
        word, command = self.word, self.command
        marker = word == EVENT_MARKER
        m.d.comb += [
            self.trial_end.eq((word == LEARN_TRIAL_LEARN) | (word == LEARN_TRIAL_FREEZE)),
            self.in_range.eq((word < self.n_in) | (word[15] & (word[:15] < self.n_out))
                             | self.trial_end | marker),
        ]
        with m.If(~word[15]):
            m.d.comb += [command.kind.eq(LearningCommand.INPUT), command.addr.eq(word)]
        with m.Elif(marker):
            m.d.comb += command.kind.eq(LearningCommand.STEP)
        with m.Elif(self.trial_end):
            m.d.comb += [command.kind.eq(LearningCommand.END),
                         command.addr.eq(word == LEARN_TRIAL_LEARN)]
        with m.Else():
            m.d.comb += [command.kind.eq(LearningCommand.TARGET), command.addr.eq(word[:15])]
        return m
