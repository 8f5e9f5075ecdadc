"""The nightly recoup run as an Airflow DAG (docs/deploy.md, "Airflow").

The as-of date is the run's logical date (`{{ ds }}`), set by the
scheduler: a re-run or a backfill of a past night plans that night again,
never "today" by the worker's clock. Four shards in parallel on Kubernetes
(KubernetesPodOperator), then `recoup merge`.

Airflow retries a task on any non-zero exit. Only 1 (I/O or internal error)
is worth it; 2, 3, 4, 6 and 7 fail again within seconds, writing nothing
(outputs are atomic), and 5 means the outputs are complete but rows were
rejected (a person reads rejects.csv). Alert on the exit code: it is the
`exit_code` of the last JSON log line (`"event": "done"`) in the task's log.
"""

from datetime import timedelta

import pendulum
from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

IMAGE = "registry.example.com/recoup:0.1"
SHARDS = 4

# The command lines of the tasks (tests/deploy.rs parses these lists as
# JSON and checks each is a valid recoup invocation): {shard} and {ds} are
# filled in below; everything else a task sets is in ENV.
RUN_ARGS = ["run", "--shard", "{shard}/4", "--out", "/data/out/{ds}/shard-{shard}", "--quiet"]
MERGE_ARGS = ["merge", "--out", "/data/out/{ds}/plan", "/data/out/{ds}/shard-0", "/data/out/{ds}/shard-1", "/data/out/{ds}/shard-2", "/data/out/{ds}/shard-3"]

ENV = {
    "RECOUP_AS_OF": "{{ ds }}",
    "RECOUP_LEDGER": "/data/ledger",
    "RECOUP_POLICY": "/opt/recoup/policies/standard",
    "RECOUP_THREADS": "2",
    "RECOUP_LOG_FORMAT": "json",
}

data = k8s.V1Volume(
    name="data",
    persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name="recoup-data"),
)
data_mount = k8s.V1VolumeMount(name="data", mount_path="/data")


def fill(args, shard=None):
    """The args with the shard and the logical date (a Jinja template) filled in."""
    return [a.replace("{shard}", str(shard)).replace("{ds}", "{{ ds }}") for a in args]


with DAG(
    dag_id="recoup_nightly",
    schedule="30 2 * * *",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=True,  # a missed night runs later with its own date
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
) as dag:
    shards = [
        KubernetesPodOperator(
            task_id=f"shard_{i}",
            name=f"recoup-shard-{i}",
            image=IMAGE,
            arguments=fill(RUN_ARGS, i),
            env_vars=ENV,
            volumes=[data],
            volume_mounts=[data_mount],
        )
        for i in range(SHARDS)
    ]
    merge = KubernetesPodOperator(
        task_id="merge",
        name="recoup-merge",
        image=IMAGE,
        arguments=fill(MERGE_ARGS),
        env_vars={"RECOUP_LOG_FORMAT": "json"},
        volumes=[data],
        volume_mounts=[data_mount],
    )
    shards >> merge
