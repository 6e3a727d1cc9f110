from camscore.session import tolerant_master


def test_a_local_master_retries_failed_tasks_as_a_cluster_does():
    assert [tolerant_master(master) for master in ("local", "local[2]", "local[*]", "local[2,1]", "yarn",
                                                   "spark://127.0.0.1:7077")] == [
        "local[1,4]", "local[2,4]", "local[*,4]", "local[2,1]", "yarn", "spark://127.0.0.1:7077"]
