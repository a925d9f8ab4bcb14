"""Pipeline health: what was loaded and quarantined per day, what did not load, the last
dbt build and its tests, and how fresh the log source is."""

from __future__ import annotations

import streamlit as st

from dashboards.ui import chart, errors_shown, opened_reader
from ingest.report import health
from ingest.report.commands import report_source
from ingest.report.queries import Filters, headline

st.title("Pipeline health")


def render() -> None:
    with errors_shown() as shown:
        source = report_source()
        snapshot = source.ledger()
        build = source.build()
        with opened_reader(source) as reader:
            latest_play = headline(reader, Filters()).latest_play
    if shown.failed:
        return
    problems = health.problem_objects(snapshot)
    st.caption(f"The ledger of {snapshot.where}; the last build from {source.target_dir}.")
    columns = st.columns(4)
    columns[0].metric("Objects in the ledger", f"{len(snapshot.entries):,}")
    columns[1].metric("Rows loaded", f"{sum(e.rows_loaded or 0 for e in snapshot.entries):,}")
    columns[2].metric("Lines quarantined", f"{len(snapshot.quarantined):,}")
    columns[3].metric("Pending, failed or rejected", f"{len(problems.rows):,}")

    st.subheader("Freshness of the log source")
    fresh = st.columns(2)
    fresh[0].metric("Newest play in the marts", f"{latest_play:%Y-%m-%d %H:%M} UTC"
                    if latest_play else "none", health.age(latest_play), delta_color="off",
                    delta_arrow="off")
    fresh[1].metric("Last log object loaded", f"{snapshot.last_log_load:%Y-%m-%d %H:%M} UTC"
                    if snapshot.last_log_load else "never", health.age(snapshot.last_log_load),
                    delta_color="off", delta_arrow="off")

    st.subheader("The last dbt build")
    if build is None:
        st.warning(f"no run_results.json in {source.target_dir}: no dbt command ran there yet")
    else:
        done = st.columns([2, 1, 1, 1])
        done[0].metric(f"dbt {build.command}", f"{build.generated_at:%Y-%m-%d %H:%M} UTC",
                       health.age(build.generated_at), delta_color="off", delta_arrow="off")
        done[1].metric("Models built", f"{build.count('model', 'success')}")
        passed = build.count("test", "pass") + build.count("unit_test", "pass")
        done[2].metric("Tests passed", f"{passed}")
        done[3].metric("Failed or errored", f"{len(build.failures)}")
        if build.failures:
            st.error("failed: " + ", ".join(build.failures))
        st.dataframe([dict(zip(build.table().columns, row, strict=True))
                      for row in build.table().rows], hide_index=True)

    st.subheader("Loads and quarantine")
    chart(health.loads_per_day(snapshot))
    chart(health.quarantine_reasons(snapshot))
    st.subheader("Objects that did not load")
    if problems.rows:
        st.dataframe([dict(zip(problems.columns, row, strict=True)) for row in problems.rows],
                     hide_index=True)
    else:
        st.success("every object the ledger knows loaded")


render()
