"""Norse 1.1 and convolutional networks: its NIR exporter cannot write them whole, and the
import says so by node."""

import pytest
from spikeforge.compiler.frontends.nir import NIRImportError, import_nir


def test_norse_conv_export_without_its_flatten_is_refused_clearly():
    """Norse 1.1's exporter writes no node (None) for torch.nn.Flatten, so its conv nets cannot
    come through NIR whole; the import says which node and why instead of failing on it."""
    torch = pytest.importorskip("torch")
    norse = pytest.importorskip("norse.torch", reason="Norse is a test peer: pip install "
                                                      "--no-deps norse==1.1.0 (make test does)")
    from norse.torch.utils.export_nir import to_nir

    params = norse.LIFBoxParameters(tau_mem_inv=torch.tensor(250.0), v_th=torch.tensor(2.0))
    conv, linear = torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Linear(256, 3)
    net = norse.SequentialState(conv, norse.LIFBoxCell(params), torch.nn.Flatten(), linear,
                                norse.LIFBoxCell(params))
    graph = to_nir(net, torch.zeros(1, 1, 8, 8))
    empty = [name for name, node in graph.nodes.items() if node is None]
    assert empty, "Norse now exports Flatten: import its conv nets in a test of their own"
    with pytest.raises(NIRImportError, match=rf"node '{empty[0]}' is empty \(None\): the "
                                             "exporter wrote no NIR node"):
        import_nir(graph, quirks="norse", dt=1e-3, weight_bits=8)
