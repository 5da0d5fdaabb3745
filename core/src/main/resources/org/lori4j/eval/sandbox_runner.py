# lori4j's runner for one untrusted Python program (HumanEval completions), started inside the bubblewrap
# sandbox that PythonSandbox builds; the sandbox, not this script, protects the host.
# It sets the resource limits, disables what bigcode's reliability_guard disables (so programs score as in the
# reference harness), then runs the program under the reference's time limit and reports how it ended.
# argv: cpu_seconds address_space_bytes file_size_bytes processes time_limit_seconds
# stdin: one line with a nonce, then the program. The report goes to the original stdout, one line each:
# "started" before the program runs, then "passed NONCE", "timed out ..." or "failed: ...".
# The program's own stdout/stderr go to /dev/null. A hostile program can write any report for itself.
import os
import sys


def _main():
    cpu, mem, fsize, nproc = (int(a) for a in sys.argv[1:5])
    time_limit = float(sys.argv[5])
    data = sys.stdin.buffer.read()
    nonce, _, source = data.partition(b"\n")
    nonce = nonce.decode("ascii", "replace").strip()
    source = source.decode("utf-8", "replace")

    report_fd = os.dup(1)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)

    def report(line):
        os.write(report_fd, (line.replace("\n", " ") + "\n").encode("utf-8", "replace"))

    import resource
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    if mem > 0:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))

    import signal

    class TimeoutException(Exception):  # as the reference's: an Exception raised by SIGALRM
        pass

    def on_alarm(signum, frame):
        raise TimeoutException("Timed out!")

    exit_now = os._exit
    _reliability_guard()
    report("started")
    try:
        # As the reference harness: exec with fresh, empty globals, under a real-time limit (its time_limit()).
        signal.setitimer(signal.ITIMER_REAL, time_limit)
        signal.signal(signal.SIGALRM, on_alarm)
        try:
            exec(compile(source, "program.py", "exec"), {})
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except TimeoutException:
        report("timed out after " + str(time_limit) + " s")
        exit_now(1)
    except BaseException as e:  # SystemExit too: the reference counts it as a failure
        report("failed: " + type(e).__name__ + ": " + str(e)[:500])
        exit_now(1)
    report("passed " + nonce)
    exit_now(0)


def _reliability_guard():
    """What bigcode's reliability_guard sets to None (scoring as the reference; not a security measure)."""
    import builtins
    import faulthandler
    import shutil
    import subprocess
    faulthandler.disable()
    builtins.exit = None
    builtins.quit = None
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork", "forkpty",
                 "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod", "fchown", "chmod", "chown",
                 "chroot", "lchflags", "lchmod", "lchown", "getcwd", "chdir"):
        setattr(os, name, None)
    shutil.rmtree = None
    shutil.move = None
    shutil.chown = None
    subprocess.Popen = None
    builtins.help = None
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[name] = None


_main()
