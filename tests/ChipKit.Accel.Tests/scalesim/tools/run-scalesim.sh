#!/bin/bash
# Regenerates reports/: run from anywhere as
#   PYTHON=/usr/bin/python3 run-scalesim.sh /path/to/scale-sim-v2-checkout OUTDIR < pairs.txt
# where each line of pairs.txt is "CONFIG.cfg TOPOLOGY.csv" (e.g. "sa32x32_os.cfg conv_test.csv").
# Needs numpy, pandas and tqdm for python3 (or set PYTHON=/path/to/python). sitecustomize.py (next to this script) makes sum() behave as in
# Python >= 3.12. Copies COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv, DETAILED_ACCESS_REPORT.csv to OUTDIR/CONFIG__TOPOLOGY/.
set -e
here=$(cd "$(dirname "$0")" && pwd); data=$(dirname "$here"); sim=$1; out=$2
while read -r c t; do
  [ -z "$c" ] && continue
  n=${c%.cfg}__${t%.csv}; mode=conv; case $t in gemm_*) mode=gemm;; esac
  tmp=$(mktemp -d)
  (cd "$sim" && PYTHONPATH=.:$here ${PYTHON:-python3} scalesim/scale.py -c "$data/configs/$c" -t "$data/topologies/$t" -p "$tmp" -i $mode > "$tmp/log" 2>&1)
  mkdir -p "$out/$n"; cp "$tmp"/*/COMPUTE_REPORT.csv "$tmp"/*/BANDWIDTH_REPORT.csv "$tmp"/*/DETAILED_ACCESS_REPORT.csv "$out/$n/"
  rm -rf "$tmp"
done
