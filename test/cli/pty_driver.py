"""Runs a command on a pseudo-terminal and drives it, for the CLI's terminal tests.

    python3 pty_driver.py STEPS_JSON TIMEOUT_S -- COMMAND ARGS...

STEPS_JSON is a list of steps, done in order:
    ["wait", REGEX]   read the output until REGEX matches what came after the previous match
    ["type", TEXT]    type TEXT on the terminal ("\\u0003" is Ctrl-C: the terminal sends SIGINT)
    ["kill", NAME]    send the signal NAME (e.g. "SIGTERM") to the command
Then the output is read to its end. Prints one JSON object: "code" (the exit code, or None),
"signal" (the signal that ended the command, or None), "output" (everything the command wrote
to the terminal, stdout and stderr together, decoded as Latin-1) and "timedOut" (a wait or
the command ran past TIMEOUT_S; the command is then killed).
"""
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time


def main() -> None:
    steps = json.loads(sys.argv[1])
    deadline = time.monotonic() + float(sys.argv[2])
    command = sys.argv[sys.argv.index("--") + 1 :]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    # 40 rows, 200 columns: room for the whole progress bar.
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
    output = bytearray()
    searched = 0
    timed_out = False

    def read(wait_s: float) -> bool:
        """Reads what is there within wait_s; False at the end of the output."""
        ready, _, _ = select.select([fd], [], [], wait_s)
        if not ready:
            return True
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the command has ended and closed the terminal
            return False
        output.extend(chunk)
        return len(chunk) > 0

    open_ = True
    for step in steps:
        if timed_out:
            break
        kind, arg = step
        if kind == "wait":
            pattern = re.compile(arg.encode("latin-1"))
            while True:
                match = pattern.search(output, searched)
                if match:
                    searched = match.end()
                    break
                if not open_ or time.monotonic() > deadline:
                    timed_out = True
                    break
                open_ = read(0.05)
        elif kind == "type":
            os.write(fd, arg.encode("latin-1"))
        elif kind == "kill":
            os.kill(pid, getattr(signal, arg))
        else:
            raise ValueError(f"unknown step {kind!r}; expected wait, type or kill")
    while open_ and not timed_out:
        if time.monotonic() > deadline:
            timed_out = True
            break
        open_ = read(0.05)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    print(
        json.dumps(
            {
                "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                "signal": signal.Signals(os.WTERMSIG(status)).name
                if os.WIFSIGNALED(status)
                else None,
                "output": output.decode("latin-1"),
                "timedOut": timed_out,
            }
        )
    )


if __name__ == "__main__":
    main()
