"""`bassi ci generate --target kubernetes` with task ids chosen to collide: Kubernetes names are cut
to 52 characters with a hash, so one id can be made to match another's cut name. Two manifests
with one CronJob and ConfigMap name would overwrite each other at `kubectl apply -f k8s/`: the
schedule of one task would run the other's task file."""

from __future__ import annotations

from pathlib import Path

from bassi_ci.generators.kubernetes import resource_name
from tests.generators.helpers import generate, write_task

SCHEDULED = {"prompt": "p", "schedule": "daily 09:00", "timezone": "UTC"}


def test_two_tasks_with_one_kubernetes_name_are_refused(tmp_path: Path) -> None:
    long_id = "nightly-" + "x" * 55
    twin = resource_name(long_id).removeprefix("bassi-")  # a valid id of 46 characters
    assert twin != long_id and resource_name(twin) == resource_name(long_id)
    write_task(tmp_path, "long.yaml", id=long_id, **SCHEDULED)
    write_task(tmp_path, "twin.yaml", id=twin, **{**SCHEDULED, "prompt": "something else"})
    code, out, err = generate(tmp_path, "--target", "kubernetes")
    assert code == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert long_id in lines[0] and twin in lines[0] and resource_name(twin) in lines[0]
    assert not (tmp_path / "k8s").exists()  # nothing half-written
