# lori4j's runner for one untrusted Python program (HumanEval completions). Not a security sandbox:
# it sets resource limits, then an audit hook (PEP 578) that ends the process before the program
# writes outside its work folder, starts processes, opens sockets or loads native code.
# argv: result_file program_file work_dir cpu_seconds address_space_bytes file_size_bytes time_limit_seconds
# stdin: one line, a nonce written to the result file only when the program ran to its end.
import os
import sys


def _main():
    result_path, program_path = sys.argv[1], sys.argv[2]
    work = os.path.realpath(sys.argv[3])
    cpu, mem, fsize = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    time_limit = float(sys.argv[7])
    nonce = sys.stdin.readline().strip()
    rfd = os.open(result_path, os.O_WRONLY | os.O_TRUNC)
    with open(program_path, encoding="utf-8") as f:
        source = f.read()

    import resource
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if mem > 0:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))

    realpath, join, getcwd, fspath = os.path.realpath, os.path.join, os.getcwd, os.fspath
    write = os.write
    exit_now = os._exit
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    busy = [False]

    def report(message):
        write(rfd, message.encode("utf-8", "replace"))

    def stop(what):
        report("violation: " + what)
        exit_now(3)

    def inside(path):
        if path is None or isinstance(path, int):
            return True  # an already open file descriptor
        p = fspath(path)
        if isinstance(p, bytes):
            p = p.decode("utf-8", "replace")
        full = realpath(join(getcwd(), p))
        return full == "/dev/null" or full == work or full.startswith(work + os.sep)

    def check(event, args):
        if busy[0]:
            return
        busy[0] = True
        try:
            if event == "open":
                path, mode, flags = args
                writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                    isinstance(flags, int) and flags & write_flags)
                if writing and not inside(path):
                    stop("write outside the work folder: " + str(path))
            elif event in ("os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate",
                           "os.utime", "os.chflags", "os.lchflags", "os.setxattr", "os.removexattr",
                           "shutil.rmtree"):
                if not inside(args[0]):
                    stop(event + " outside the work folder: " + str(args[0]))
            elif event in ("os.rename", "os.link", "os.symlink", "shutil.copyfile", "shutil.copytree",
                           "shutil.move"):
                if not inside(args[0]) or not inside(args[1]):
                    stop(event + " outside the work folder: " + str(args[0]) + " -> " + str(args[1]))
            elif event in ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
                           "subprocess.Popen", "pty.spawn", "os.kill", "os.killpg", "signal.pthread_kill",
                           "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "socket.connect", "socket.bind",
                           "socket.sendto", "socket.sendmsg", "socket.getaddrinfo", "socket.gethostbyname",
                           "socket.gethostbyaddr", "os.startfile", "webbrowser.open", "urllib.Request"):
                stop("not allowed: " + event)
        finally:
            busy[0] = False

    import signal

    class TimeoutException(Exception):  # as the reference's: an Exception raised by SIGALRM
        pass

    def on_alarm(signum, frame):
        raise TimeoutException("Timed out!")

    sys.addaudithook(check)
    try:
        # Like the reference harness: exec with fresh, empty globals, under a real-time limit (its time_limit()).
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


_main()
