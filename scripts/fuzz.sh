#!/usr/bin/env bash
# Fuzzes every reader with libFuzzer + AddressSanitizer + UndefinedBehaviorSanitizer (clang++):
# builds tests/fuzz/fuzz_readers.cpp into build-fuzz/, seeds each target's corpus with a few lines of the real
# files under $SEQREC_DATA (written into build-fuzz/ at run time, never into the source tree), and runs each
# target for SEQREC_FUZZ_SECONDS (default 20). Exits non-zero on the first crash; the reproducer is left in
# build-fuzz/artifacts/.
#   scripts/fuzz.sh                 all targets
#   scripts/fuzz.sh sasrec json     some of them
set -euo pipefail
source "$(dirname "$0")/env.sh"
SECONDS_PER_TARGET=${SEQREC_FUZZ_SECONDS:-20}
B="$SEQREC_ROOT/build-fuzz"
mkdir -p "$B/artifacts"
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(sasrec user-lines ml-100k ml-1m csv-header csv-plain json ml100k-items
                                    ml100k-users ml1m-movies ml1m-users lastfm csv-colons)

# --------------------------------------------------------------------------------------------------- build
# The readers include Kokkos only through seqrec's core headers; link its static library for the few symbols.
src="$SEQREC_ROOT/tests/fuzz/fuzz_readers.cpp"
stale() {  # the binary is missing or older than a header or the harness
  [ ! -x "$B/fuzz_readers" ] ||
    [ -n "$(find "$SEQREC_ROOT/include/seqrec" "$src" -newer "$B/fuzz_readers" -name '*pp')" ]
}
if stale; then
  t0=$SECONDS
  clang++ -std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I "$SEQREC_ROOT/include" -isystem "$SEQREC_KOKKOS_OMP/include" \
    "$src" -o "$B/fuzz_readers" "$SEQREC_KOKKOS_OMP/lib/libkokkoscore.a" -ldl -fopenmp
  echo "[fuzz] built build-fuzz/fuzz_readers in $((SECONDS - t0)) s"
fi

# ---------------------------------------------------------------------------------------------------- seeds
D=$SEQREC_DATA
seed() {  # seed <target> <name>: stdin becomes one seed file
  mkdir -p "$B/seeds/$1"
  cat >"$B/seeds/$1/$2"
}
have() { [ -f "$D/$1" ]; }
if have games/games.txt; then head -n 12 "$D/games/games.txt" | seed sasrec games; fi
if have beauty/beauty.txt; then head -n 4 "$D/beauty/beauty.txt" | seed user-lines beauty; fi
if have ml-100k/u.data; then
  head -n 10 "$D/ml-100k/u.data" | seed ml-100k u.data
  head -n 10 "$D/ml-100k/u.data" | sed 's/\t/::/g' | seed ml-1m ratings.dat
  head -n 10 "$D/ml-100k/u.data" | awk -F'\t' '{print $2","$1","$3","$4}' | seed csv-plain ratings.csv
fi
if have lastfm-2k/user_artists.dat; then
  head -n 10 "$D/lastfm-2k/user_artists.dat" | seed csv-header user_artists.dat
  head -n 10 "$D/lastfm-2k/user_artists.dat" | seed lastfm user_artists.dat
  head -n 10 "$D/lastfm-2k/user_artists.dat" | sed 1d | sed 's/\t/::/g' | seed csv-colons user_artists.txt
fi
if have beauty/beauty_item2attributes.json; then  # the first entries, as a JSON object of their own
  grep -o '"[0-9]*": \[[0-9, ]*\]' "$D/beauty/beauty_item2attributes.json" | sed -n '1,6p' | paste -sd, - |
    sed 's/^/{/; s/$/}/' | seed json item2attributes.json
fi
if have ml-100k/u.item; then
  head -n 8 "$D/ml-100k/u.item" | seed ml100k-items u.item
  head -n 8 "$D/ml-100k/u.item" | awk -F'|' '{print $1"::"$2"::Comedy|Drama"}' | seed ml1m-movies movies.dat
fi
if have ml-100k/u.user; then
  head -n 8 "$D/ml-100k/u.user" | seed ml100k-users u.user
  head -n 8 "$D/ml-100k/u.user" | awk -F'|' '{print $1"::"$3"::"$2"::"NR % 21"::"$5}' | seed ml1m-users users.dat
fi

# ------------------------------------------------------------------------------------------------------ run
status=0
for t in "${TARGETS[@]}"; do
  mkdir -p "$B/corpus/$t" "$B/seeds/$t"
  log="$B/$t.log"
  if SEQREC_FUZZ_TARGET=$t "$B/fuzz_readers" -max_total_time="$SECONDS_PER_TARGET" -max_len=4096 -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$B/artifacts/$t-" \
       "$B/corpus/$t" "$B/seeds/$t" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "[fuzz] $t: ok, $runs runs in ${SECONDS_PER_TARGET} s, $cov"
  else
    status=1
    echo "[fuzz] $t: FAILED (log: build-fuzz/$t.log)"
    grep -E 'ERROR|fuzz_readers:|SUMMARY|Test unit written' "$log" | head -20 || tail -30 "$log"
  fi
done
exit $status
