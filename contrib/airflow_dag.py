"""cdncost under Airflow, the lake on object storage (README "Scaling out").

One task per China day (`run --date D --lookback 0`), so a backfill (`airflow dags backfill
-s 2026-11-01 -e 2026-11-30 cdncost`) runs days side by side; then one report over the
month so far. Workers on different days never wait for each other; two on the same day:
the second exits 1 naming the first, and Airflow retries it.

Exit status 3 (data missing) and 4 (not final yet) are not failures of the task: the
next night's lookback completes them; only 1 fails it.
"""
from datetime import timedelta

import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator

CDNCOST = "cdncost --config /etc/cdncost/cdncost.toml --json-logs"
# 0 done, 3 incomplete, 4 not final: the day's data is in as far as it exists.
ACCEPT = "; rc=$?; [ $rc -eq 0 ] || [ $rc -eq 3 ] || [ $rc -eq 4 ]"

with DAG(
    dag_id="cdncost",
    schedule="30 2 * * *",
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=8,
    default_args={"retries": 3, "retry_delay": timedelta(minutes=10)},
) as dag:
    # The data interval of a daily run is the day before the run: that China day.
    day = BashOperator(
        task_id="day",
        bash_command=f"{CDNCOST} run --date {{{{ data_interval_start.in_tz('Asia/Shanghai').to_date_string() }}}} "
        f"--lookback 0 --out /tmp/cdncost-out{ACCEPT}",
    )
    report = BashOperator(
        task_id="month_report",
        bash_command=f"{CDNCOST} report "
        "--from {{ data_interval_start.in_tz('Asia/Shanghai').start_of('month').to_date_string() }} "
        "--to {{ data_interval_start.in_tz('Asia/Shanghai').to_date_string() }} "
        f"--out /srv/cdncost/reports/current{ACCEPT}",
    )
    day >> report
