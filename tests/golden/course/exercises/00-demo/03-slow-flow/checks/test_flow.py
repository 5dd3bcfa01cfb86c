def test_completes(learner, prefect_run):
    """The flow run completes, with its task"""
    mod = learner.load("flow.py")
    report = prefect_run(learner.get(mod, "slow"))
    assert report.completed, f"The flow did not complete: {report.error}"
    assert report.task_names == ["wait"], f"Expected one task called wait, the API recorded {report.task_names}"
