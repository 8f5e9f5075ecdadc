#!/bin/sh
# recoup-scheduled: `recoup run` with the as-of date of the scheduled run,
# never the pod's clock (docs/deploy.md, "The as-of date").
#
# RECOUP_AS_OF, when the scheduler sets it (Airflow, Argo, a manual Job),
# wins. Otherwise the date is read from the name of the Job a Kubernetes
# CronJob created: `<cronjob>-<scheduled time in minutes since the epoch>`
# (the pod gets it through the downward API as JOB_NAME), as a UTC date.
# `date` only formats that number; it does not read the clock. A Job whose
# name carries no scheduled time (one created by hand) must set RECOUP_AS_OF.
# The output folder is RECOUP_OUT, or RECOUP_OUT_ROOT/<as-of date> (one
# folder per night). Every other setting comes from RECOUP_* variables or
# the arguments given.
set -eu
if [ -z "${RECOUP_AS_OF:-}" ]; then
  minutes="${JOB_NAME:-}"
  minutes="${minutes##*-}"
  case "$minutes" in
    [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]) ;;
    *)
      echo "error: no as-of date: set RECOUP_AS_OF (YYYY-MM-DD), or run from a CronJob (JOB_NAME \`${JOB_NAME:-}\` carries no scheduled time)" >&2
      exit 2
      ;;
  esac
  RECOUP_AS_OF=$(TZ=UTC date -d "@$((minutes * 60))" +%Y-%m-%d)
  export RECOUP_AS_OF
fi
if [ -z "${RECOUP_OUT:-}" ] && [ -n "${RECOUP_OUT_ROOT:-}" ]; then
  RECOUP_OUT="$RECOUP_OUT_ROOT/$RECOUP_AS_OF"
  export RECOUP_OUT
fi
exec recoup run "$@"
