"""Reading files we did not write in a child process with limits, as the C++ reader does
(golden/src/contain.hpp). h5py sits on HDF5, which crashes, loops and allocates gigabytes on
crafted metadata; the integrity gate only proves that a file is what its header says. So
mqa_golden.load parses in a forked child under RLIMIT_AS, RLIMIT_CPU and a wall-clock alarm and
sends the cases back pickled through a pipe; a crash, a timeout or a kill there becomes one
GoldenError naming the file, and the interpreter lives on.

Environment (as the C++ reader's):
  MQA_READER_CONTAIN=0      parse in-process (a debugger, or a fork-unsafe embedding)
  MQA_READER_TIMEOUT=S      wall-clock seconds the child may take (default 120)
  MQA_READER_CPU=S          CPU seconds it may use (default MQA_READER_TIMEOUT)
  MQA_READER_MEMORY=BYTES   address space it may add (K, M, G; default 4 GiB + 8 x the file's bytes)
Test hook, honoured only inside the child: MQA_TEST_READER_FAULT=segv|abort|hang|spin|alloc[:SUBSTRING]
makes the read of a file whose path holds SUBSTRING crash, block, spin or allocate until it fails.

The child is a fork: it sees the parent's memory as it was, and needs no import or start-up. A
parent thread holding a lock inside h5py at the fork would leave the child blocked; the wall-clock
limit then ends it (MQA_READER_CONTAIN=0 avoids the fork altogether).
"""

import os
import pickle
import re
import resource
import select
import signal
import time

_REPORT = {"in_child": False, "memory": -1}  # set inside a contained child


def _number(name, value, byte_suffix):
    m = re.fullmatch(r"([0-9]+)([KMG]?)", value) if byte_suffix else re.fullmatch(r"([0-9]+)()", value)
    shift = {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)] if m else 0
    if not m or int(m.group(1)) <= 0 or int(m.group(1)) > 1 << (62 - shift):
        raise ValueError("%s = '%s': expected a positive %s" %
                         (name, value, "number of bytes (suffix K, M or G allowed)" if byte_suffix else "number of seconds"))
    return int(m.group(1)) << shift


def limits(files):
    """(contain, wall seconds, CPU seconds, memory bytes) from the environment; ValueError names a bad one."""
    contain = os.environ.get("MQA_READER_CONTAIN", "1") != "0"
    seconds = min(_number("MQA_READER_TIMEOUT", os.environ["MQA_READER_TIMEOUT"], False), 86400) \
        if "MQA_READER_TIMEOUT" in os.environ else 120
    cpu = min(_number("MQA_READER_CPU", os.environ["MQA_READER_CPU"], False), 86400) \
        if "MQA_READER_CPU" in os.environ else seconds
    if "MQA_READER_MEMORY" in os.environ:
        memory = _number("MQA_READER_MEMORY", os.environ["MQA_READER_MEMORY"], True)
    else:
        size = 0
        for f in files:
            try:
                size += min(os.path.getsize(f), 1 << 40)
            except OSError:
                pass
        memory = (4 << 30) + 8 * size
    return contain, seconds, cpu, memory


def memory_note():
    """What a failed allocation inside a contained child ran into (else "")."""
    if _REPORT["memory"] <= 0:
        return ""
    return " (the reader may add %d bytes of memory, MQA_READER_MEMORY)" % _REPORT["memory"]


def reading_file(path):
    """Called before h5py opens `path`: applies MQA_TEST_READER_FAULT inside a contained child."""
    spec = os.environ.get("MQA_TEST_READER_FAULT", "")
    if not _REPORT["in_child"] or not spec:
        return
    what, _, only = spec.partition(":")
    if only and only not in path:
        return
    if what in ("segv", "abort"):  # as HDF5 dies on damaged metadata: the default action, no handler
        sig = signal.SIGSEGV if what == "segv" else signal.SIGABRT
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    elif what == "hang":  # blocked, using no CPU: only the wall-clock alarm ends it
        while True:
            signal.pause()
    elif what == "spin":  # as HDF5 loops on a cyclic B-tree: the CPU limit ends it too
        while True:
            pass
    elif what == "alloc":  # as HDF5 sizes a buffer by a forged field: until allocation fails
        held = []
        while True:
            held.append(bytearray(256 << 20))
            if len(held) * (256 << 20) > 2 * max(_REPORT["memory"], 1 << 30):
                raise MemoryError()
    else:
        raise ValueError("MQA_TEST_READER_FAULT = '%s': expected segv, abort, hang, spin or alloc[:SUBSTRING]" % spec)


def _address_space_now():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _child(fd, seconds, cpu, memory, body):
    _REPORT["in_child"], _REPORT["memory"] = True, memory
    for sig in (signal.SIGALRM, signal.SIGXCPU, signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)  # the limits must end the child, whatever the parent catches
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGALRM, signal.SIGXCPU, signal.SIGTERM])
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash on a hostile file leaves no core file
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL a second later
    try:  # the child holds the parent's mappings: its limit is those plus its allowance
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = _address_space_now() + memory
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    except (ValueError, OSError):
        pass
    signal.alarm(seconds)
    try:
        result = ("ok", body())
    except BaseException as e:  # noqa: B902 (the child reports everything, then exits)
        result = ("error", e)
    try:
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # an exception that cannot be pickled: its text
        data = pickle.dumps(("error", RuntimeError("%s: %s" % (type(result[1]).__name__, result[1]))))
        del e
    for part in (len(data).to_bytes(8, "little"), data):  # no concatenated copy of a large result
        view = memoryview(part)
        while len(view):
            view = view[os.write(fd, view):]


def _what_happened(status, killed, seconds, cpu):
    why = "; the file is malformed (HDF5 loops on some damaged metadata) or larger than the limit allows"
    wall = "took more than %d s (MQA_READER_TIMEOUT)%s" % (seconds, why)
    if killed:
        return wall
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGALRM:
            return wall
        if sig == signal.SIGXCPU:
            return "used more than %d s of CPU time (RLIMIT_CPU, MQA_READER_CPU)%s" % (cpu, why)
        if sig == signal.SIGKILL:
            return "was killed (signal 9: out of memory, or killed from outside)"
        return "crashed inside the HDF5 library (signal %d, %s); the file is malformed" % (sig, signal.strsignal(sig))
    return "ended without an answer (exit status %d)" % (os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1)


def run(command, path, body, error):
    """body() in a contained child (or in-process with MQA_READER_CONTAIN=0); returns its result
    or raises what it raised. A child that gives no answer raises error("<command>: reading <path>
    crashed|took|used ..."). A bad limit in the environment raises error too."""
    try:
        contain, seconds, cpu, memory = limits([path])
    except ValueError as e:
        raise error("%s: %s" % (command, e)) from None
    if not contain:
        return body()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        try:
            os.close(r)
            _child(w, seconds, cpu, memory, body)
        finally:
            os._exit(0)
    os.close(w)
    buf, killed = bytearray(), False
    deadline = time.monotonic() + seconds + 5  # the backstop of the child's own alarm
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                killed = True
                break
            ready, _, _ = select.select([r], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(r, 1 << 20)
            if not chunk:
                break
            buf += chunk
    except BaseException:  # KeyboardInterrupt in the parent: take the child along
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(r)
    _, status = os.waitpid(pid, 0)
    n = int.from_bytes(buf[:8], "little") if len(buf) >= 8 else -1
    if not killed and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and n == len(buf) - 8:
        kind, value = pickle.loads(memoryview(buf)[8:])  # no copy of a large result
        if kind == "ok":
            return value
        raise value
    raise error("%s: reading %s %s" % (command, path, _what_happened(status, killed, seconds, cpu)))
