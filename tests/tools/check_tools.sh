#!/usr/bin/env bash
# End-to-end checks of the command-line tools on the real data (ctest: tools/<case>): the names people type
# (format aliases, folders, delimiters, weights), the defaults, and clear errors. Each case runs a tool for
# a second or two and checks its exit status and what it printed.
#   check_tools.sh <bin dir> <case>
set -uo pipefail
bin=$1
case_name=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail() { echo "FAIL [$case_name]: $*"; echo "--- output:"; cat "$out"; exit 1; }
# run <expected status> <command...>: output to $out
run() {
  local want=$1; shift
  "$@" >"$out" 2>&1
  local got=$?
  [ "$got" = "$want" ] || fail "exit status $got, expected $want: $*"
}
has() { grep -q -- "$1" "$out" || fail "output lacks '$1'"; }
# The final JSON object's field: json <key>
json() { tail -1 "$out" | python3 -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }

case "$case_name" in
  train-defaults)  # SASRec from a MovieLens folder: xavier item table, both protocols, no format named; an
    # option given twice takes its last value (scripts/run.sh --epochs 5 overrides the script's --epochs)
    run 0 "$bin/seqrec-train" --data ml-100k --epochs 5 --epochs 1 --max-eval-users 100 --json
    has '"full_test_ndcg10"'
    [ "$(json epochs)" = 1 ] || fail "epochs $(json epochs): the last --epochs should win"
    [ "$(json model)" = sasrec ] || fail "model"
    python3 -c "import sys; s=float('$(json init_std)'); sys.exit(0 if abs(s - (2/(1682+1+50))**0.5) < 1e-9 else 1)" ||
      fail "init_std $(json init_std) is not xavier's sqrt(2 / (1682 + 1 + 50))"
    ;;
  train-multitask-default)  # --aux without --combinator: uncertainty weighting
    run 0 "$bin/seqrec-train" --data ml-100k/u.data --format ml100k --aux genres --epochs 1 --max-eval-users 100 --json
    [ "$(json combinator)" = uncertainty ] || fail "combinator $(json combinator)"
    ;;
  train-gru-init)  # the recurrent encoders keep 1/sqrt(dim) under --init-std auto
    run 0 "$bin/seqrec-train" --data ml-100k --model gru4rec --epochs 1 --max-eval-users 100 --json
    [ "$(json init_std)" = 0.0 ] || fail "init_std $(json init_std)"
    ;;
  train-losses)  # --loss for every encoder: ce (the whole catalogue) and a sampled loss with its default negatives
    run 0 "$bin/seqrec-train" --data ml-100k --loss ce --epochs 1 --max-eval-users 100 --json
    [ "$(json loss)" = ce ] || fail "loss $(json loss)"
    run 0 "$bin/seqrec-train" --data ml-100k --model gru4rec --loss bpr-max --epochs 1 --max-eval-users 100 --json
    [ "$(json train_negatives)" = 32 ] || fail "bpr-max's default negatives: $(json train_negatives)"
    run 0 "$bin/seqrec-train" --data ml-100k --model lstm --loss gbce --train-negatives 16 --epochs 1 \
      --max-eval-users 100 --json
    [ "$(json train_negatives)" = 16 ] || fail "--train-negatives 16: $(json train_negatives)"
    # the multi-task and context models take any loss over sampled candidates; ce is refused there by name
    run 0 "$bin/seqrec-train" --data ml-100k/u.data --format ml100k --aux genres --loss bpr --epochs 1 \
      --max-eval-users 100 --json
    [ "$(json loss)" = bpr ] || fail "--aux with --loss bpr: loss $(json loss)"
    run 0 "$bin/seqrec-train" --data ml-100k --context time --loss sampled-softmax --train-negatives 8 --epochs 1 \
      --max-eval-users 100 --json
    [ "$(json train_negatives)" = 8 ] || fail "--context with sampled-softmax: $(json train_negatives)"
    run 2 "$bin/seqrec-train" --data ml-100k --aux genres --loss ce --epochs 1
    has "--loss ce takes the plain model"
    ;;
  unknown-loss)  # an unknown --loss lists the losses there are, never a fallback
    run 2 "$bin/seqrec-train" --data ml-100k --loss softmax
    has "unknown --loss 'softmax'"
    has "sampled-softmax"
    has "top1-max"
    ;;
  format-aliases)  # every alias reads the same interactions as its canonical name
    for pair in "ml-100k/u.data ml-100k ml100k" "beauty/beauty.txt user-lines lines"; do
      set -- $pair
      run 0 "$bin/seqrec-data" stats --data "$1" --format "$2"
      a="$(json format) $(json users) $(json items) $(json interactions) $(json mean_per_user)"
      run 0 "$bin/seqrec-data" stats --data "$1" --format "$3"
      b="$(json format) $(json users) $(json items) $(json interactions) $(json mean_per_user)"
      [ "$a" = "$b" ] || fail "--format $3 read '$b', --format $2 read '$a'"
    done
    ;;
  lastfm-tsv)  # Last.fm as a tsv with a header, weights log1p, and by its own format name
    run 0 "$bin/seqrec-complete" --data lastfm-2k/user_artists.dat --format lastfm --weights log1p --method als \
      --iters 2 --protocol full --json
    has '"seconds_per_iteration"'
    run 0 "$bin/seqrec-data" stats --data lastfm-2k
    has '"interactions":92834'
    ;;
  unknown-format)  # an unknown name is an error that lists the valid ones, never a fallback
    run 1 "$bin/seqrec-train" --data ml-100k/u.data --format movielens
    has "unknown data format 'movielens'"
    has "ml-100k (or ml100k)"
    ;;
  missing-folder-file)  # a folder without a known dataset file: the folder and what was looked for
    dir=$(mktemp -d)
    run 1 "$bin/seqrec-complete" --data "$dir" --method poprec
    rmdir "$dir"
    has "holds none of the files"
    has "u.data"
    ;;
  *) fail "unknown case" ;;
esac
echo "ok [$case_name]"
