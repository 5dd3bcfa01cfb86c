import time

from prefect import flow, task


@task
def wait():
    while True:
        time.sleep(0.5)


@flow
def slow():
    wait()
    return 1
