import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zut  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="session")
def ut():
    return zut.under_test()


@pytest.fixture(scope="session")
def peer_exe(ut, tmp_path_factory):
    out = tmp_path_factory.mktemp("peer") / "peer"
    return zut.build_against_under_test(os.path.join(HERE, "peer.c"), str(out))


class Peer(zut.Proc):
    """Our side: peer.c running on the library under test."""

    def __init__(self, exe, ut, args):
        super().__init__([exe] + [str(a) for a in args])
        self.lib = self.expect_prefix("LIB ")
        self.version = self.expect_prefix("VERSION ")
        ut.check_lib(self.lib, self.version)
        self.endpoint = self.expect_prefix("ENDPOINT ")


@pytest.fixture
def spawn_peer(peer_exe, ut):
    peers = []

    def spawn(*args):
        p = Peer(peer_exe, ut, args)
        peers.append(p)
        return p

    yield spawn
    for p in peers:
        p.close()


@pytest.fixture
def zctx():
    import zmq

    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def ipc_dir():
    # Short path: sun_path is limited to 108 bytes.
    d = tempfile.mkdtemp(prefix="zi-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)
