# A cheat: at import, write "pass" for every check on every file descriptor that might be the results
# channel (and into the results file the old runner used), then leave at once.
import json
import os

events = [{"event": "result", "id": f"test_add.py::{name}", "name": name, "status": "pass", "max_points": 5}
          for name in ("test_small", "test_negative")]
line = "".join(json.dumps(e) + "\n" for e in events).encode()
for fd in range(3, 256):
    try:
        os.write(fd, line)
    except OSError:
        pass
if os.environ.get("FLOWCAMP_RESULTS"):
    open(os.environ["FLOWCAMP_RESULTS"], "a").write(line.decode())
os._exit(0)
