import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from stack.processes import pid_alive

SPAWNER = """
import sys, time
from pathlib import Path
from stack.processes import spawn
server = spawn("sleeper", ["sleep", "60"], port=0, state_dir=Path(sys.argv[1]), die_with_parent=True)
print(server.pid, flush=True)
time.sleep(60)
"""


def test_a_server_started_with_die_with_parent_exits_when_its_starter_is_killed(tmp_path: Path) -> None:
    starter = subprocess.Popen([sys.executable, "-c", SPAWNER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert starter.stdout is not None
    child = int(starter.stdout.readline())
    assert pid_alive(child)
    os.kill(starter.pid, signal.SIGKILL)
    starter.wait()
    deadline = time.monotonic() + 10
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(child)
