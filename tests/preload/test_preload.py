"""Drop-in test: a program built against the system libzmq (Debian's
libzmq3-dev) runs on our library via LD_PRELOAD or LD_LIBRARY_PATH."""
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
import zut  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_HEADER = os.environ.get("ZMQ_SYSTEM_INCLUDE", "/usr/include") + "/zmq.h"


@pytest.fixture(scope="session")
def ut():
    return zut.under_test()


@pytest.fixture(scope="session")
def checker(ut, tmp_path_factory):
    if not os.path.exists(SYSTEM_HEADER):
        pytest.fail(
            f"{SYSTEM_HEADER} missing: install the system libzmq "
            "(apt-get install -y libzmq3-dev); tests/interop/run.sh does this"
        )
    out = tmp_path_factory.mktemp("preload") / "preload_check"
    # Plain build against the system library: no rpath, nothing of ours.
    return zut.compile_c(os.path.join(HERE, "preload_check.c"), str(out), ["-lzmq", "-ldl"])


def run_checker(exe, **env):
    res = subprocess.run(
        [exe], capture_output=True, text=True, timeout=60, env=zut.clean_env(**env)
    )
    out = res.stdout.splitlines()
    diag = f"\nenv: {env}\nexit code: {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    assert res.returncode == 0, "checker failed" + diag
    assert out and out[-1] == "RESULT OK", "checker did not finish" + diag
    for check in ("errors", "inproc", "tcp"):
        assert any(l.startswith(f"CHECK {check} ok") for l in out), f"no {check} check" + diag
    lib = next(l[4:] for l in out if l.startswith("LIB "))
    version = next(l[8:] for l in out if l.startswith("VERSION "))
    loaded = [l[7:] for l in out if l.startswith("LOADED ")]
    return lib, version, loaded, diag


def test_soname(ut):
    """A drop-in must carry the same SONAME as libzmq 4.x, or programs built
    against the system library load both copies."""
    res = subprocess.run(
        ["readelf", "-d", os.path.realpath(ut.library)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    m = re.search(r"Library soname: \[([^\]]+)\]", res.stdout)
    assert m, f"{ut.library} has no SONAME"
    assert m.group(1) == zut.SONAME, f"SONAME is {m.group(1)!r}, expected {zut.SONAME!r}"


def test_plain_runs_on_system_libzmq(checker, ut):
    lib, version, loaded, diag = run_checker(checker)
    assert loaded, "no libzmq object loaded?" + diag
    if not ut.same_as_system(lib):
        assert not ut.is_ours(lib), f"plain run already uses our library {lib}" + diag


@pytest.mark.parametrize("mode", ["LD_PRELOAD", "LD_LIBRARY_PATH"])
def test_runs_on_our_library(checker, ut, mode):
    if mode == "LD_PRELOAD":
        env = {"LD_PRELOAD": ut.library}
    else:
        env = {"LD_LIBRARY_PATH": ut.lib_dir}
    lib, version, loaded, diag = run_checker(checker, **env)
    ut.check_lib(lib, version)
    # Only our copy may be mapped: same soname, so the system one is not
    # loaded next to it.
    for path in loaded:
        assert ut.is_ours(path) or os.path.realpath(path) == os.path.realpath(lib), (
            f"another libzmq is loaded too: {path} (does ours have SONAME libzmq.so.5?)" + diag
        )
    assert len({os.path.realpath(p) for p in loaded}) == 1, f"several libzmq loaded: {loaded}" + diag
