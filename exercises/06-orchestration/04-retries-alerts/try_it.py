"""Try your flow against a practice membership service and a practice chat channel, both on this computer.

    uv run flowcamp run try_it.py

You do not need to change this file. It starts two small web services in the background: a membership
service that is busy (it answers 503) for its first calls, and a "chat channel" that prints every message
posted to it. It points MEMBERSHIP_API_URL, MEMBERSHIP_API_KEY and ALERT_WEBHOOK_URL at them, then runs
sync_members from pipeline.py twice:

1. the service is busy twice, then answers: with retries, the run should complete, and post nothing;
2. the service stays down all night: the run should fail, and post one alert.
"""

import json
import os
import random
import time

import prefect  # noqa: F401 - `flowcamp run` starts your Prefect server for files that import prefect

from flowcamp.checks.standins import FlakyService, WebhookReceiver

PRACTICE_KEY = "practice-key-" + "".join(random.choices("abcdefghjkmnpqrstuvwxyz23456789", k=12))
STATUSES = ["active", "active", "active", "lapsed"]
MEMBERS = [{"member_id": 1000 + i, "email": f"member{i}@example.org", "status": random.choice(STATUSES)}
           for i in range(1, 26)]


def report(service, channel, start: float) -> None:
    for number, call in enumerate(service.calls, 1):
        print(f"  call {number} to the service at {call.at - start:5.1f} s")
    posts = channel.posts()
    print(f"  messages posted to the chat channel: {len(posts)}")
    for post in posts:
        try:
            body = json.dumps(post.json(), indent=2)
        except ValueError:
            body = post.text
        print("  " + body.replace("\n", "\n  "))
        if PRACTICE_KEY in post.everything():
            print("  WARNING: this message contains the API key. Take it out.")


def main() -> None:
    with FlakyService(payload={"members": MEMBERS}, api_key=PRACTICE_KEY) as service, WebhookReceiver() as channel:
        os.environ["MEMBERSHIP_API_URL"] = service.url
        os.environ["MEMBERSHIP_API_KEY"] = PRACTICE_KEY
        os.environ["ALERT_WEBHOOK_URL"] = channel.url
        import pipeline  # after the settings are in place

        for title, fail_first in [("Run 1: the service is busy twice, then answers", 2),
                                  ("Run 2: the service is down all night", None)]:
            print(f"\n=== {title} ===\n")
            service.reset(fail_first=fail_first)
            channel.clear()
            start = time.monotonic()
            state = pipeline.sync_members(return_state=True)
            print(f"\n--- {title}: the flow run ended {state.name} ---")
            report(service, channel, start)


if __name__ == "__main__":
    main()
