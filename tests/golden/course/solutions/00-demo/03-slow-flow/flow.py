from prefect import flow, task


@task
def wait():
    return 1


@flow
def slow():
    return wait()
