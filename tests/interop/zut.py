"""Shared helpers for the interop and preload tests ("zmq under test").

Where the library under test lives is taken from the environment:

  ZMQ_UNDER_TEST_PREFIX   install prefix with include/ and lib/ (or lib64/,
                          lib/x86_64-linux-gnu/) inside, or
  ZMQ_UNDER_TEST_LIB      directory holding libzmq.so.5 (and maybe libzmq.so)
  ZMQ_UNDER_TEST_INCLUDE  directory holding zmq.h
                          (the two override what PREFIX would give)

Optional:
  ZMQ_UNDER_TEST_EXPECT_PATH     substring the loaded libzmq path must contain
                                 (default: the loaded object must be the very
                                 file <lib dir>/libzmq.so.5 resolves to)
  ZMQ_UNDER_TEST_EXPECT_VERSION  e.g. "4.3.5": zmq_version() must report it
  CC                             C compiler (default: cc)
"""
import functools
import os
import queue
import re
import subprocess
import threading

TIMEOUT = 10.0  # seconds: generous per-operation timeout
SONAME = "libzmq.so.5"


class UnderTest:
    def __init__(self, lib_dir, include_dir):
        self.lib_dir = lib_dir
        self.include_dir = include_dir
        self.library = os.path.join(lib_dir, SONAME)
        self.expect_path = os.environ.get("ZMQ_UNDER_TEST_EXPECT_PATH") or None
        self.expect_version = os.environ.get("ZMQ_UNDER_TEST_EXPECT_VERSION") or None

    def is_ours(self, path):
        """True when `path` (as reported by dladdr) is the library under test."""
        if self.expect_path is not None:
            return self.expect_path in path
        return os.path.realpath(path) == os.path.realpath(self.library)

    def check_lib(self, path, version=None):
        what = (
            f"substring {self.expect_path!r}"
            if self.expect_path is not None
            else os.path.realpath(self.library)
        )
        assert self.is_ours(path), (
            f"zmq_socket came from {path!r} "
            f"(real path {os.path.realpath(path)!r}), expected {what}"
        )
        if version is not None and self.expect_version is not None:
            assert version == self.expect_version, (
                f"zmq_version() says {version}, expected {self.expect_version}"
            )

    def same_as_system(self, system_path):
        return os.path.realpath(system_path) == os.path.realpath(self.library)


def _config_error(msg):
    raise RuntimeError(
        msg
        + "\nSet ZMQ_UNDER_TEST_PREFIX (with include/ and lib/) or "
        "ZMQ_UNDER_TEST_LIB + ZMQ_UNDER_TEST_INCLUDE."
    )


@functools.lru_cache(maxsize=None)
def under_test():
    prefix = os.environ.get("ZMQ_UNDER_TEST_PREFIX") or None
    lib = os.environ.get("ZMQ_UNDER_TEST_LIB") or None
    inc = os.environ.get("ZMQ_UNDER_TEST_INCLUDE") or None
    if prefix is None and lib is None:
        _config_error("The location of the libzmq under test is not set.")
    if lib is None:
        for cand in ("lib", "lib64", "lib/x86_64-linux-gnu"):
            d = os.path.join(prefix, cand)
            if os.path.exists(os.path.join(d, SONAME)):
                lib = d
                break
        else:
            _config_error(f"No {SONAME} under {prefix}/lib, lib64 or lib/x86_64-linux-gnu.")
    if inc is None:
        if prefix is None:
            _config_error("ZMQ_UNDER_TEST_INCLUDE is not set (needed with ZMQ_UNDER_TEST_LIB).")
        inc = os.path.join(prefix, "include")
    lib = os.path.abspath(lib)
    inc = os.path.abspath(inc)
    if not os.path.exists(os.path.join(lib, SONAME)):
        _config_error(f"No {SONAME} in {lib}.")
    if not os.path.exists(os.path.join(inc, "zmq.h")):
        _config_error(f"No zmq.h in {inc}.")
    return UnderTest(lib, inc)


def clean_env(**extra):
    """Environment for child processes: no stray preload / library path."""
    env = dict(os.environ)
    for k in ("LD_PRELOAD", "LD_LIBRARY_PATH"):
        env.pop(k, None)
    env.update(extra)
    return env


def compile_c(source, output, args):
    cc = os.environ.get("CC", "cc")
    cmd = [cc, "-std=gnu11", "-Wall", "-O1", "-g", source, "-o", output] + args
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=clean_env())
    if res.returncode != 0:
        raise RuntimeError(f"compile failed: {' '.join(cmd)}\n{res.stdout}\n{res.stderr}")
    return output


def build_against_under_test(source, output):
    ut = under_test()
    link = (
        ["-L" + ut.lib_dir, "-lzmq"]
        if os.path.exists(os.path.join(ut.lib_dir, "libzmq.so"))
        else [ut.library]
    )
    # DT_RPATH (not RUNPATH) so that a stray LD_LIBRARY_PATH cannot win.
    return compile_c(
        source,
        output,
        ["-I" + ut.include_dir]
        + link
        + ["-Wl,--disable-new-dtags", "-Wl,-rpath," + ut.lib_dir, "-ldl"],
    )


class Proc:
    """A child process whose stdout lines are collected by a thread, so the
    test can wait for a given line with a timeout (no sleeps)."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env if env is not None else clean_env(),
        )
        self.lines = queue.Queue()
        self.seen = []
        self.err = []
        self._t_out = threading.Thread(target=self._pump_out, daemon=True)
        self._t_err = threading.Thread(target=self._pump_err, daemon=True)
        self._t_out.start()
        self._t_err.start()

    def _pump_out(self):
        for raw in self.proc.stdout:
            self.lines.put(raw.decode(errors="replace").rstrip("\n"))
        self.lines.put(None)

    def _pump_err(self):
        for raw in self.proc.stderr:
            self.err.append(raw.decode(errors="replace"))

    def stderr_text(self):
        self._t_err.join(timeout=1)
        return "".join(self.err)

    def _diag(self):
        return (
            f"\n  argv: {self.argv}\n  stdout so far: {self.seen}\n"
            f"  exit code: {self.proc.poll()}\n  stderr:\n{self.stderr_text()}"
        )

    def poll_line(self, timeout):
        """Next stdout line, or None if nothing arrived within `timeout`.
        Raises AssertionError if the process closed its stdout."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is None:
            self.lines.put(None)
            self.proc.wait(timeout=TIMEOUT)
            raise AssertionError("process ended its output early" + self._diag())
        self.seen.append(line)
        return line

    def line(self, timeout=TIMEOUT):
        line = self.poll_line(timeout)
        if line is None:
            raise AssertionError(f"no output line within {timeout}s" + self._diag())
        return line

    def expect_line(self, text, timeout=TIMEOUT):
        line = self.line(timeout)
        assert line == text, f"expected line {text!r}, got {line!r}" + self._diag()

    def expect_prefix(self, prefix, timeout=TIMEOUT):
        line = self.line(timeout)
        assert line.startswith(prefix), f"expected {prefix!r}..., got {line!r}" + self._diag()
        return line[len(prefix):]

    def tell(self, text="go"):
        self.proc.stdin.write((text + "\n").encode())
        self.proc.stdin.flush()

    def finish(self, timeout=3 * TIMEOUT, done_line="DONE"):
        """Wait for a clean exit; returns the remaining output lines."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"process did not exit within {timeout}s" + self._diag())
        self._t_out.join(timeout=TIMEOUT)
        rest = []
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            rest.append(line)
        assert rc == 0, f"process failed with exit code {rc}" + self._diag()
        if done_line is not None:
            assert rest and rest[-1] == done_line, f"no final {done_line!r}" + self._diag()
        return rest

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                pass

    def close(self):
        self.kill()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except Exception:
                pass


def loaded_libzmq_in_this_process():
    """Paths of the libzmq objects mapped into the pytest process (pyzmq's)."""
    paths = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and re.search(r"libzmq", parts[-1]):
                paths.add(parts[-1])
    return sorted(paths)
