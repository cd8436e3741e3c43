"""The FSM state registers of the link top, and nothing else, are in its FSM domain: the board
builds re-encode every register named ``fsm_state`` one-hot and drop its initial value
(``boards/yosys.py``), which is only correct for a register that a reset puts in its initial
state, and the FSM domain is the one whose reset does on every board. The domain is reset in
the first two cycles (one flip-flop drives its reset, ``hdl/link_top.py``) and then only with
``sync``'s reset."""

from amaranth.hdl import Fragment, Signal
from amaranth.sim import Simulator
from spikeforge.hdl.link_top import FSM_DOMAIN, LinkTop
from spikeforge.model.learning import LearningConfig

from .networks import small_network


def _drivers(fragment, found):
    """``{id(signal): (signal, {domains that assign it})}`` over ``fragment`` and its
    subfragments."""
    for domain, statements in fragment.statements.items():
        for statement in statements:
            for signal in statement._lhs_signals():
                if isinstance(signal, Signal):  # not the domain's clock and reset
                    found.setdefault(id(signal), (signal, set()))[1].add(domain)
    for subfragment, *_ in fragment.subfragments:
        _drivers(subfragment, found)
    return found


def _link_top(learning):
    network = small_network(1)
    config = (LearningConfig.create(network, "superspike", learning_rate=2.0 ** -6, seed=3)
              if learning else None)
    return LinkTop(network, divisor=4, learning=config)


def test_every_fsm_state_register_and_nothing_else_is_in_the_fsm_domain():
    for learning in (False, True):
        drivers = _drivers(Fragment.get(_link_top(learning), platform=None), {})
        states = {key for key, (signal, _) in drivers.items() if signal.name == "fsm_state"}
        assert len(states) == 3  # the UART receiver, the link's receiver and its executor
        assert all(drivers[key][1] == {FSM_DOMAIN} for key in states)
        in_domain = {key for key, (_, domains) in drivers.items() if FSM_DOMAIN in domains}
        assert in_domain == states


def test_the_fsm_domain_is_reset_in_the_first_two_cycles_only():
    top = _link_top(False)
    fragment = Fragment.get(top, platform=None)
    resets = []

    async def bench(ctx):
        for _ in range(6):
            resets.append(ctx.get(fragment.domains[FSM_DOMAIN].rst))
            await ctx.tick()

    sim = Simulator(fragment)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert resets == [1, 1, 0, 0, 0, 0]
