#!/usr/bin/env bash
# Benchmarks this repository's libzmq against the system's libzmq (Debian's libzmq5), side by
# side, with the perf tools of perf/ built twice from the same sources. See
# docs/performance.md.
#
#   perf/bench.sh               the default matrix (about 9-10 minutes on 2 cores)
#   perf/bench.sh --quick       smoke test: every tool once with tiny counts (CI)
#   perf/bench.sh --full        every pattern x transport x size x pinning, and more profiles
#   perf/bench.sh --help        all options
#
# Results go to results/<date>-<time>/: raw.csv (every run), summary.csv (medians),
# table.txt / table.md (the table printed at the end), meta.txt, the PNG charts, logs/.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
unset LD_LIBRARY_PATH LD_PRELOAD

usage() {
    cat <<'EOF'
usage: perf/bench.sh [options]

  --quick               smoke test: each tool once per library, tiny counts, no profiles, no
                        charts; exits non-zero if a required tool fails or hangs
  --full                all sizes pinned too, proxy at every size, more profiled cells
  --runs N              runs per cell and library (default 5; the median is reported)
  --transports LIST     comma list of tcp,ipc,inproc (default all three)
  --sizes LIST          message sizes in bytes (default 1,64,1024,65536,1048576)
  --patterns LIST       comma list of thr-pushpull,thr-pubsub,lat-reqrep,proxy-pushpull,
                        proxy-xpubxsub (default all)
  --pins LIST           comma list of free,same,split (default all): free = unpinned,
                        same = everything on CPU 0 (taskset -c 0), split = bind side on CPU 0
                        and connect side on CPU 1 (tcp/ipc only)
  --pin-sizes LIST      sizes run pinned (default 64; --full: all sizes)
  --scale F             multiply every message count by F (default 1)
  --timeout S           seconds before a run counts as hung (default 20; quick: 15)
  --no-profile          skip instructions (callgrind) and syscalls (strace) per message
  --profile-cells LIST  cells to profile, pattern:transport:size, e.g. thr-pushpull:tcp:64
  --no-charts           no PNG charts
  --no-install          do not apt-get anything
  --no-build            use the tools already built in the build directory
  --build-dir DIR       this repository's CMake build (default build-perf; reused if there)
  --out DIR             results directory (default results/<date>-<time>)
EOF
}

QUICK=0 FULL=0 RUNS=5 TRANSPORTS=tcp,ipc,inproc SIZES=1,64,1024,65536,1048576
PATTERNS=thr-pushpull,thr-pubsub,lat-reqrep,proxy-pushpull,proxy-xpubxsub
PINS=free,same,split PIN_SIZES="" SCALE=1 TIMEOUT=20 GRACE=1 STALL=5 PROFILE=1 PROFILE_CELLS="" CHARTS=1
INSTALL=1 BUILD=1 BUILD_DIR=build-perf OUT=""
while [ $# -gt 0 ]; do
    case $1 in
        --quick) QUICK=1 ;;
        --full) FULL=1 ;;
        --runs) RUNS=$2; shift ;;
        --transports) TRANSPORTS=$2; shift ;;
        --sizes) SIZES=$2; shift ;;
        --patterns) PATTERNS=$2; shift ;;
        --pins) PINS=$2; shift ;;
        --pin-sizes) PIN_SIZES=$2; shift ;;
        --scale) SCALE=$2; shift ;;
        --timeout) TIMEOUT=$2; shift ;;
        --no-profile) PROFILE=0 ;;
        --profile-cells) PROFILE_CELLS=$2; shift ;;
        --no-charts) CHARTS=0 ;;
        --no-install) INSTALL=0 ;;
        --no-build) BUILD=0 ;;
        --build-dir) BUILD_DIR=$2; shift ;;
        --out) OUT=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if [ "$QUICK" = 1 ]; then
    PROFILE=0 CHARTS=0 RUNS=1
    [ "$TIMEOUT" = 20 ] && TIMEOUT=15
fi
if [ -z "$PIN_SIZES" ]; then
    if [ "$FULL" = 1 ]; then PIN_SIZES=$SIZES; else PIN_SIZES=64; fi
fi
if [ -z "$PROFILE_CELLS" ]; then
    # tcp 1 B: the issue's instruction target is stated for it.
    PROFILE_CELLS=thr-pushpull:tcp:1,thr-pushpull:tcp:64,thr-pushpull:inproc:64,thr-pushpull:tcp:65536,lat-reqrep:tcp:64,lat-reqrep:inproc:64
    [ "$FULL" = 1 ] && PROFILE_CELLS+=,thr-pushpull:ipc:64,thr-pubsub:tcp:64,thr-pushpull:tcp:1048576,lat-reqrep:ipc:64
fi
IFS=, read -r -a transports <<<"$TRANSPORTS"
IFS=, read -r -a sizes <<<"$SIZES"
IFS=, read -r -a patterns <<<"$PATTERNS"
IFS=, read -r -a pins <<<"$PINS"
IFS=, read -r -a pin_sizes <<<"$PIN_SIZES"
IFS=, read -r -a profile_cells <<<"$PROFILE_CELLS"
bad_choice() { # what value allowed... -> true (and a message) when value is not allowed
    local what=$1 v=$2 a
    shift 2
    for a in "$@"; do [ "$v" = "$a" ] && return 1; done
    echo "bench.sh: unknown $what '$v' (one of: $*)" >&2
}
for v in "${transports[@]}"; do bad_choice transport "$v" tcp ipc inproc && exit 2; done
for v in "${patterns[@]}"; do
    bad_choice pattern "$v" thr-pushpull thr-pubsub lat-reqrep proxy-pushpull proxy-xpubxsub && exit 2
done
for v in "${pins[@]}"; do bad_choice pinning "$v" free same split && exit 2; done
for v in "${sizes[@]}" "${pin_sizes[@]}"; do
    [[ "$v" =~ ^[0-9]+$ ]] || { echo "bench.sh: a size is a number of bytes, not '$v'" >&2; exit 2; }
done

[ -n "$OUT" ] || OUT=results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT/logs" || exit 2
OUT=$(cd "$OUT" && pwd)
RAW=$OUT/raw.csv
TMPD=$(mktemp -d /tmp/zmq-bench.XXXXXX)
MAINPID=$BASHPID
# Only the main shell cleans up: a background subshell killed before its exec runs the trap too.
trap '[ "$BASHPID" = "$MAINPID" ] && rm -rf "$TMPD"' EXIT
# timeout(1) runs each tool in a process group of its own, which a Ctrl-C does not reach.
RUNNING=()
trap 'kill -TERM "${RUNNING[@]}" 2>/dev/null; echo "bench: interrupted" >&2; exit 130' INT TERM
say() { printf '%s\n' "$*"; }
warn() { printf 'bench: %s\n' "$*" >&2; }
contains() { local x=$1; shift; local y; for y in "$@"; do [ "$x" = "$y" ] && return 0; done; return 1; }

# --- what it needs ---------------------------------------------------------------------------

PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3   # Debian's, which sees python3-matplotlib
APT_UPDATED=0
apt_install() {
    [ "$INSTALL" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
    export DEBIAN_FRONTEND=noninteractive
    if [ "$APT_UPDATED" = 0 ]; then apt-get update -qq >/dev/null 2>&1; APT_UPDATED=1; fi
    apt-get install -y -qq --no-install-recommends "$@" >"$OUT/logs/apt.log" 2>&1
}
setup() {
    local need=() opt=()
    command -v cmake >/dev/null || need+=(cmake)
    command -v pkg-config >/dev/null || need+=(pkg-config)
    command -v cc >/dev/null || need+=(gcc libc6-dev)
    [ -e /usr/include/zmq.h ] && pkg-config --exists libzmq 2>/dev/null || need+=(libzmq3-dev)
    command -v timeout >/dev/null || need+=(coreutils)
    command -v taskset >/dev/null || need+=(util-linux)
    if [ "$QUICK" = 0 ]; then
        [ -x /usr/bin/time ] || opt+=(time)
        command -v ss >/dev/null || opt+=(iproute2)
        if [ "$PROFILE" = 1 ]; then
            command -v valgrind >/dev/null || opt+=(valgrind)
            command -v strace >/dev/null || opt+=(strace)
        fi
        if [ "$CHARTS" = 1 ] && ! "$PY" -c 'import matplotlib' 2>/dev/null; then
            opt+=(python3-matplotlib)
        fi
    fi
    if [ ${#need[@]} -gt 0 ] || [ ${#opt[@]} -gt 0 ]; then
        if [ "$INSTALL" = 1 ]; then
            say "installing: ${need[*]} ${opt[*]}"
            apt_install "${need[@]}" "${opt[@]}" \
                || warn "apt-get install failed or not allowed (see $OUT/logs/apt.log)"
        else
            warn "not installed (--no-install): ${need[*]} ${opt[*]}"
        fi
    fi
    local m
    for m in cmake pkg-config cc timeout; do
        command -v "$m" >/dev/null || { warn "missing $m"; exit 2; }
    done
    pkg-config --exists libzmq || { warn "no libzmq for pkg-config (apt-get install libzmq3-dev)"; exit 2; }
    HAVE_TIME=0; [ -x /usr/bin/time ] && HAVE_TIME=1
    HAVE_TASKSET=0; command -v taskset >/dev/null && HAVE_TASKSET=1
    HAVE_SS=0; command -v ss >/dev/null && HAVE_SS=1
    if [ "$PROFILE" = 1 ]; then
        command -v valgrind >/dev/null || warn "no valgrind: instructions per message skipped"
        command -v strace >/dev/null || warn "no strace: syscalls per message skipped"
    fi
    if [ "$CHARTS" = 1 ] && ! "$PY" -c 'import matplotlib' 2>/dev/null; then
        warn "no matplotlib for $PY: charts skipped"
        CHARTS=0
    fi
    if [ "$HAVE_TASKSET" = 0 ] || [ "$(nproc)" -lt 2 ]; then
        local p kept=()
        for p in "${pins[@]}"; do
            if [ "$p" = free ] || { [ "$HAVE_TASKSET" = 1 ] && [ "$p" = same ]; }; then kept+=("$p"); fi
        done
        pins=("${kept[@]}")
    fi
}

# --- build -----------------------------------------------------------------------------------

TOOLS=(local_thr remote_thr local_lat remote_lat inproc_thr inproc_lat proxy_thr tcp_baseline line_rtt)
build() {
    local log=$OUT/logs/build.log
    : >"$log"
    if [ "$BUILD" = 1 ]; then
        say "building the perf tools against this repository's library ($BUILD_DIR) ..."
        local cfg=(-S . -B "$BUILD_DIR")
        [ -f "$BUILD_DIR/CMakeCache.txt" ] || cfg+=(-DCMAKE_BUILD_TYPE=Release)
        if ! { cmake "${cfg[@]}" -DWITH_PERF_TOOL=ON && cmake --build "$BUILD_DIR" -j2 --target "${TOOLS[@]}"; } >>"$log" 2>&1; then
            tail -n 30 "$log" >&2; warn "build failed (log: $log)"; exit 2
        fi
        say "building the perf tools against the system's libzmq ($BUILD_DIR/perf-libzmq) ..."
        if ! { cmake -S perf -B "$BUILD_DIR/perf-libzmq" -DCMAKE_BUILD_TYPE=Release &&
               cmake --build "$BUILD_DIR/perf-libzmq" -j2; } >>"$log" 2>&1; then
            tail -n 30 "$log" >&2; warn "build failed (log: $log)"; exit 2
        fi
    fi
    OURS=$ROOT/$BUILD_DIR/perf
    [[ $BUILD_DIR = /* ]] && OURS=$BUILD_DIR/perf
    REF=$OURS-libzmq
    local t
    for t in "${TOOLS[@]}"; do
        [ -x "$OURS/$t" ] && [ -x "$REF/$t" ] || { warn "missing $t in $OURS or $REF"; exit 2; }
    done
    if grep -q 'ZMQ_CARGO_PROFILE:STRING=dev' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
        warn "$BUILD_DIR builds the library with the dev (debug) profile: numbers are not representative"
    fi
    # The two builds load libzmq.so.5 of the same SONAME: make sure each loads the right one.
    OURS_LIB=$(ldd "$OURS/local_thr" | awk '/libzmq\.so/ {print $3}')
    REF_LIB=$(ldd "$REF/local_thr" | awk '/libzmq\.so/ {print $3}')
    case $OURS_LIB in
        "$(cd "$OURS/.." && pwd)"/lib/*) ;;
        *) warn "our tools load '$OURS_LIB', not this repository's library"; exit 2 ;;
    esac
    case $REF_LIB in
        "$(cd "$OURS/.." && pwd)"/*|"") warn "the reference tools load '$REF_LIB'"; exit 2 ;;
    esac
    REF_VERSION=$(pkg-config --modversion libzmq)
    say "ours:   $OURS_LIB"
    say "libzmq: $REF_LIB ($REF_VERSION)"
}

# --- running one test ------------------------------------------------------------------------

count_for() { # kind transport size -> message or roundtrip count (about 0.5 s with libzmq)
    local kind=$1 transport=$2 size=$3 n
    if [ "$QUICK" = 1 ]; then
        case $kind in lat) n=200 ;; *) n=2000 ;; esac
        echo "$n"; return
    fi
    case $kind:$transport in
        thr:inproc)
            if [ "$size" -le 64 ]; then n=3000000; else n=800000; fi ;;
        thr:*)
            if [ "$size" -le 1 ]; then n=1500000; elif [ "$size" -le 64 ]; then n=1000000
            elif [ "$size" -le 1024 ]; then n=200000; elif [ "$size" -le 65536 ]; then n=10000
            else n=800; fi ;;
        plain:*)
            if [ "$size" -le 1024 ]; then n=60000; elif [ "$size" -le 65536 ]; then n=10000
            else n=800; fi ;;
        lat:inproc)
            if [ "$size" -le 65536 ]; then n=6000; else n=2000; fi ;;
        lat:*)
            if [ "$size" -le 65536 ]; then n=2000; else n=400; fi ;;
        proxy:*)
            if [ "$size" -le 1024 ]; then n=1500000
            elif [ "$size" -le 65536 ]; then n=150000; else n=10000; fi ;;
    esac
    awk -v n="$n" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 1 ? 1 : v) }'
}

SEQ=0
PORT=$((20000 + RANDOM % 20000))
next_endpoint() { # transport -> EP, a fresh port or path for every run
    SEQ=$((SEQ + 1))
    if [ "$1" = tcp ]; then
        PORT=$((PORT + 1)); [ "$PORT" -gt 60000 ] && PORT=20000
        if [ "$HAVE_SS" = 1 ]; then
            while [ -n "$(ss -Htan "sport = :$PORT" 2>/dev/null)" ]; do PORT=$((PORT + 1)); done
        fi
        EP="tcp://127.0.0.1:$PORT"
    else
        EP="ipc://$TMPD/ep$SEQ.sock"
    fi
}

wait_listening() { # endpoint pid: until the bind side listens (or died), at most 5 s
    local ep=$1 pid=$2 i
    for ((i = 0; i < 250; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        case $ep in
            tcp://*)
                if [ "$HAVE_SS" = 1 ]; then
                    [ -n "$(ss -Hltn "sport = :${ep##*:}" 2>/dev/null)" ] && return 0
                elif [ "$i" -ge 15 ]; then return 0; fi ;;
            ipc://*) [ -S "${ep#ipc://}" ] && return 0 ;;
        esac
        sleep 0.02
    done
    return 0
}

# launch OUTFILE RSSFILE CPUS WRAP CMD...: starts CMD in the background under timeout (and
# /usr/bin/time, taskset, and WRAP: valgrind or strace), sets LAUNCHED to its pid.
launch() {
    local out=$1 rss=$2 cpus=$3 wrap=$4 t=$TIMEOUT
    shift 4
    case $wrap in
        callgrind:*) set -- valgrind -q --tool=callgrind --callgrind-out-file="${wrap#callgrind:}.%p" "$@"; t=$((TIMEOUT * 6)) ;;
        strace:*) set -- strace -f -c -o "${wrap#strace:}" "$@"; t=$((TIMEOUT * 3)) ;;
    esac
    [ -n "$cpus" ] && set -- taskset -c "$cpus" "$@"
    [ "$HAVE_TIME" = 1 ] && [ -n "$rss" ] && set -- /usr/bin/time -f '%M' -o "$rss" "$@"
    timeout -k 5 "$t" "$@" >"$out" 2>&1 </dev/null &
    LAUNCHED=$!
    RUNNING+=("$LAUNCHED")
}

describe_failure() { # rc outfile -> status detail
    local rc=$1 out=$2 last
    last=$(grep -v '^Command exited' "$out" 2>/dev/null | tail -n 1 | tr -d '\r",' | cut -c1-100)
    if [ "${AW_STALLED:-0}" = 1 ]; then
        echo "timeout|hung: no result ${AW_STALL:-$STALL}s after its peer finished${last:+: $last}"
    elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        echo "timeout|hung, killed after ${TIMEOUT}s${last:+: $last}"
    elif [ "$rc" -gt 128 ]; then
        echo "crash|signal $((rc - 128))${last:+: $last}"
    else
        echo "failed|exit $rc${last:+: $last}"
    fi
}

read_rss() { # rssfile... -> max peak RSS in kB of all (empty if none)
    local f v max=""
    for f in "$@"; do
        [ -f "$f" ] || continue
        v=$(tail -n 1 "$f" | tr -dc '0-9')
        [ -n "$v" ] && { [ -z "$max" ] || [ "$v" -gt "$max" ]; } && max=$v
    done
    echo "$max"
}

# await_procs REGEX RESFILE PID:OUTFILE...: waits for the processes (timeout's). The first
# one to fail stops the others. One still running GRACE seconds after REGEX showed up in
# RESFILE hangs at exit: it is stopped and AW_HUNG set (the measurement stands). One still
# running without REGEX AW_STALL seconds after the other finished has lost what it waits for
# (libzmq's lost ipc tail, below): it is stopped as hung then, not at the timeout, and
# AW_STALLED set. Sets AW_RC (the first non-zero exit status, or 0; 124 for a stall) and
# AW_FAILFILE (the output of that process). With AW_RELEASE set, that file is made as soon
# as a process has finished or the result is there (remote_thr waits for it: ZMQ_PERF_HOLD).
await_procs() {
    local regex=$1 resfile=$2 p who rc tick="" seen=0 finished=0 stalled=0
    shift 2
    local -A outs=()
    local pids=() rest=()
    for p in "$@"; do pids+=("${p%%:*}"); outs[${p%%:*}]=${p#*:}; done
    AW_RC=0 AW_FAILFILE="" AW_HUNG=0 AW_STALLED=0
    while [ ${#pids[@]} -gt 0 ]; do
        # A one-second tick, left to run out (never killed), to look for a hang at exit.
        if [ -z "$tick" ]; then
            sleep 1 &
            tick=$!
        fi
        who=""
        wait -n -p who "${pids[@]}" "$tick"; rc=$?
        if [ "$who" = "$tick" ]; then
            tick=""
            if grep -q "$regex" "$resfile" 2>/dev/null; then
                [ -n "${AW_RELEASE:-}" ] && : >"$AW_RELEASE"
                seen=$((seen + 1))
                if [ "$seen" -gt "$GRACE" ]; then
                    kill -TERM "${pids[@]}" 2>/dev/null
                    wait "${pids[@]}" 2>/dev/null
                    AW_HUNG=1
                    break
                fi
            elif [ "$finished" -gt 0 ]; then
                stalled=$((stalled + 1))
                if [ "$stalled" -gt "${AW_STALL:-$STALL}" ]; then
                    kill -TERM "${pids[@]}" 2>/dev/null
                    wait "${pids[@]}" 2>/dev/null
                    AW_RC=124 AW_STALLED=1 AW_FAILFILE=$resfile
                    break
                fi
            fi
            continue
        fi
        if [ -z "$who" ]; then AW_RC=${rc:-1}; break; fi
        rest=()
        for p in "${pids[@]}"; do [ "$p" = "$who" ] || rest+=("$p"); done
        pids=("${rest[@]}")
        [ "$rc" = 0 ] && finished=$((finished + 1))
        # A process done: the sender holding its connection for it may close now.
        [ "$rc" = 0 ] && [ -n "${AW_RELEASE:-}" ] && : >"$AW_RELEASE"
        if [ "$rc" != 0 ]; then
            AW_RC=$rc AW_FAILFILE=${outs[$who]}
            if [ ${#pids[@]} -gt 0 ]; then
                kill -TERM "${pids[@]}" 2>/dev/null
                wait "${pids[@]}" 2>/dev/null
            fi
            break
        fi
    done
}

# run_test KIND PATTERN TRANSPORT PIN SIZE LIBDIR COUNT [WRAP]: runs one test and sets
# R_STATUS (ok, failed, timeout, crash), R_VALUE (msg/s or us), R_RSS (kB), R_DETAIL, and
# R_RTT: the cache line roundtrip between two CPUs just before a free-running run (ns;
# perf/line_rtt.c: where the VM's host had put its CPUs, which moves small-message figures).
# WRAP "callgrind:PREFIX" or "strace:PREFIX" runs every process under that tool (files
# PREFIX.*).
run_test() {
    local kind=$1 pattern=$2 transport=$3 pin=$4 size=$5 dir=$6 count=$7 wrap=${8:-}
    local id=$SEQ-$RANDOM
    RUNNING=()
    local lout=$TMPD/$id.l.out rout=$TMPD/$id.r.out lrss=$TMPD/$id.l.rss rrss=$TMPD/$id.r.rss
    local lcpu="" rcpu="" lwrap="" rwrap="" ep pa lpid rc res resfile="" regex
    rm -f "$lrss" "$rrss"
    case $pin in same) lcpu=0 rcpu=0 ;; split) lcpu=0 rcpu=1 ;; esac
    # What is in flight when the sender finishes (kernel buffers can hold a whole run of
    # small messages) grows with --scale, and drains far more slowly under valgrind.
    AW_STALL=$(awk -v s="$STALL" -v f="$SCALE" 'BEGIN { v = s * (f > 1 ? f : 1); print int(v + 0.999) }')
    if [ -n "$wrap" ]; then lwrap=$wrap.l rwrap=$wrap.r AW_STALL=$((AW_STALL * 6)); fi
    pa=$pattern
    R_STATUS=ok R_VALUE="" R_RSS="" R_DETAIL="" R_RTT=""
    if [ "$pin" = free ] && [ "$kind" != plain ] && [ -z "$wrap" ]; then
        R_RTT=$("$OURS/line_rtt" 2>/dev/null | sed -n 's/^cache line roundtrip: \([0-9.]*\) \[ns\]$/\1/p')
    fi
    if [ "$kind" = lat ]; then regex='^average latency: '; else regex='^mean throughput: .*msg/s'; fi
    if [ "$kind" = plain ]; then
        launch "$lout" "$lrss" "$lcpu" "$lwrap" "$dir/tcp_baseline" "$size" "$count" "$transport"
        await_procs "$regex" "$lout" "$LAUNCHED:$lout"
    elif [ "$kind" = proxy ]; then
        launch "$lout" "$lrss" "$lcpu" "$lwrap" "$dir/proxy_thr" "$size" "$count" "$pa"
        await_procs "$regex" "$lout" "$LAUNCHED:$lout"
    elif [ "$transport" = inproc ]; then
        launch "$lout" "$lrss" "$lcpu" "$lwrap" "$dir/inproc_$kind" "$size" "$count" "$pa"
        await_procs "$regex" "$lout" "$LAUNCHED:$lout"
    else
        next_endpoint "$transport"
        ep=$EP
        launch "$lout" "$lrss" "$lcpu" "$lwrap" "$dir/local_$kind" "$ep" "$size" "$count" "$pa"
        lpid=$LAUNCHED
        wait_listening "$ep" "$lpid"
        # remote_thr keeps its connection until local_thr is done (ZMQ_PERF_HOLD, released
        # by await_procs), so that libzmq cannot lose the tail of an ipc stream to the close.
        # Not under a profiler: the wait's own instructions and syscalls would be counted.
        AW_RELEASE=""
        [ "$kind" = thr ] && [ -z "$wrap" ] && AW_RELEASE=$TMPD/$id.release
        ZMQ_PERF_HOLD=$AW_RELEASE launch "$rout" "$rrss" "$rcpu" "$rwrap" "$dir/remote_$kind" \
            "$ep" "$size" "$count" "$pa"
        # The result line is local_thr's (thr) or remote_lat's (lat).
        if [ "$kind" = lat ]; then resfile=$rout; else resfile=$lout; fi
        await_procs "$regex" "$resfile" "$lpid:$lout" "$LAUNCHED:$rout"
        [ -n "$AW_RELEASE" ] && rm -f "$AW_RELEASE"
        AW_RELEASE=""
    fi
    rc=$AW_RC
    [ -n "$resfile" ] || resfile=$lout
    [ "$rc" != 0 ] && resfile=$AW_FAILFILE
    R_RSS=$(read_rss "$lrss" "$rrss")
    cat "$TMPD/$id".*.out >>"$OUT/logs/runs.log" 2>/dev/null
    if [ "$rc" != 0 ]; then
        res=$(describe_failure "$rc" "$resfile")
        R_STATUS=${res%%|*} R_DETAIL=${res#*|}
        return
    fi
    case $kind in
        # One-way median (the tools' "p50 latency" line), or the mean for tools without it.
        lat) R_VALUE=$(sed -n 's/^p50 latency: \([0-9.]*\) \[us\]$/\1/p' "$resfile" | tail -n 1)
             [ -n "$R_VALUE" ] || R_VALUE=$(sed -n 's/^average latency: \([0-9.]*\) \[us\]$/\1/p' "$resfile" | tail -n 1) ;;
        *) R_VALUE=$(sed -n 's/^mean throughput: \([0-9]*\) \[msg\/s\]$/\1/p' "$resfile" | tail -n 1) ;;
    esac
    if [ -z "$R_VALUE" ]; then
        R_STATUS=failed R_DETAIL="no result line: $(tail -n 1 "$resfile" | tr -d ',"' | cut -c1-80)"
    elif [ "$AW_HUNG" = 1 ]; then
        R_DETAIL="hung at exit: killed ${GRACE}s after its result"
    fi
}

echo "kind,pattern,transport,pin,size,lib,run,count,value,unit,rss_kb,line_rtt_ns,status,detail" >"$RAW"
record() { # kind pattern transport pin size lib run count value unit
    printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,"%s"\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" \
        "$8" "$9" "${10}" "$R_RSS" "$R_RTT" "$R_STATUS" "${R_DETAIL//\"/\'}" >>"$RAW"
}

human() { # kind value
    case $1 in
        lat) printf '%sus' "$2" ;;
        *) awk -v v="$2" 'BEGIN { if (v >= 1e6) printf "%.2fM/s", v / 1e6; else if (v >= 1e3) printf "%.1fk/s", v / 1e3; else printf "%d/s", v }' ;;
    esac
}

# --- the matrix ------------------------------------------------------------------------------

# libzmq 4.3.x loses the tail of a stream over ipc when the sender closes while the receiver
# is at its receive HWM (its engine drops the connection on EPOLLHUP without reading what is
# still in the kernel), so its local_thr waits forever: in a few percent of runs at 64 B and
# up, in most at 1 B. A libzmq run that hangs is tried again, up to LIBZMQ_TRIES times in all
# (a lost tail is caught AW_STALL seconds after the sender finished, see await_procs); ours
# is never retried.
LIBZMQ_TRIES=3

# run_lib_test LIB KIND PATTERN TRANSPORT PIN SIZE COUNT: run_test with LIB's tools (ours or
# libzmq), retried as above; R_TRIES is how many runs it took.
run_lib_test() {
    local lib=$1 dir=$OURS
    shift
    [ "$lib" = libzmq ] && dir=$REF
    R_TRIES=1
    while :; do
        run_test "$1" "$2" "$3" "$4" "$5" "$dir" "$6"
        [ "$lib" = libzmq ] && [ "$R_STATUS" = timeout ] && [ "$R_TRIES" -lt "$LIBZMQ_TRIES" ] || break
        R_TRIES=$((R_TRIES + 1))
    done
}

# A cell's runs of one library stop after its second failure. The bigger sizes of that
# pattern, transport and pinning are skipped for that library after a cell in which every run
# failed outright (an error exit, a crash), or after two cells in a row in which every run
# hung (a hang costs --timeout seconds each time, but may be intermittent).
declare -A BROKEN   # kind:pattern:transport:pin:lib -> why the rest is skipped
declare -A HUNG_CELLS # kind:pattern:transport:pin:lib -> cells in a row with only hangs
run_cell() { # kind pattern transport pin size
    local kind=$1 pattern=$2 transport=$3 pin=$4 size=$5 run lib libs count line key unit
    local with_plain=0 pcount t0=$SECONDS
    local -A fails=() oks=() last_fail=() hard=()
    unit=msg/s; [ "$kind" = lat ] && unit=us
    count=$(count_for "$kind" "$transport" "$size")
    [ "$kind" = thr ] && [ "$pattern" = pushpull ] && [ "$transport" != inproc ] && [ "$pin" != split ] && with_plain=1
    line=$(printf '%-5s %-8s %-6s %-5s %8s' "$kind" "$pattern" "$transport" "$pin" "$size")
    for ((run = 1; run <= RUNS; run++)); do
        # Alternate who goes first, so that drifting machine noise hits both alike.
        if [ $((run % 2)) = 1 ]; then libs=(ours libzmq); else libs=(libzmq ours); fi
        for lib in "${libs[@]}"; do
            key=$kind:$pattern:$transport:$pin:$lib
            if [ -n "${BROKEN[$key]:-}" ] || [ "${fails[$lib]:-0}" -ge 2 ]; then
                R_STATUS=skipped R_RSS="" R_RTT=""
                R_DETAIL="after: ${BROKEN[$key]:-2 failures}"
                record "$kind" "$pattern" "$transport" "$pin" "$size" "$lib" "$run" "$count" "" "$unit"
                line+=" $lib=skipped"
                continue
            fi
            run_lib_test "$lib" "$kind" "$pattern" "$transport" "$pin" "$size" "$count"
            [ "$R_STATUS" = ok ] && [ "$R_TRIES" -gt 1 ] && [ -z "$R_DETAIL" ] &&
                R_DETAIL="after $((R_TRIES - 1)) hung tries"
            record "$kind" "$pattern" "$transport" "$pin" "$size" "$lib" "$run" "$count" "$R_VALUE" "$unit"
            if [ "$R_STATUS" = ok ]; then
                line+=" $lib=$(human "$kind" "$R_VALUE")"
                [ "$R_TRIES" -gt 1 ] && line+="(try $R_TRIES)"
                [ "$AW_HUNG" = 1 ] && line+="(hung-at-exit)"
                oks[$lib]=1
            else
                line+=" $lib=$R_STATUS"
                fails[$lib]=$((${fails[$lib]:-0} + 1))
                last_fail[$lib]="$size B: $R_STATUS ${R_DETAIL}"
                [ "$R_STATUS" = timeout ] || hard[$lib]=1
            fi
        done
        if [ "$with_plain" = 1 ]; then
            pcount=$(count_for plain "$transport" "$size")
            run_test plain "$pattern" "$transport" "$pin" "$size" "$OURS" "$pcount"
            record thr "$pattern" "$transport" "$pin" "$size" plain "$run" "$pcount" "$R_VALUE" msg/s
            [ "$R_STATUS" = ok ] && line+=" plain=$(human thr "$R_VALUE")" || line+=" plain=$R_STATUS"
        fi
    done
    for lib in ours libzmq; do
        key=$kind:$pattern:$transport:$pin:$lib
        if [ -n "${oks[$lib]:-}" ] || [ -n "${BROKEN[$key]:-}" ] || [ -z "${last_fail[$lib]:-}" ]; then
            HUNG_CELLS[$key]=0
        elif [ -n "${hard[$lib]:-}" ]; then
            BROKEN[$key]=${last_fail[$lib]}
        else
            HUNG_CELLS[$key]=$((${HUNG_CELLS[$key]:-0} + 1))
            [ "${HUNG_CELLS[$key]}" -ge 2 ] && BROKEN[$key]=${last_fail[$lib]}
        fi
    done
    say "$line [$((SECONDS - t0))s]"
}

matrix() {
    local p kind pattern transport pin size
    for pin in "${pins[@]}"; do
        for p in "${patterns[@]}"; do
            kind=${p%%-*} pattern=${p#*-}
            for transport in "${transports[@]}"; do
                if [ "$kind" = proxy ]; then
                    # zmq_proxy over inproc only, like libzmq's proxy_thr; once.
                    [ "$transport" = "${transports[0]}" ] || continue
                    [ "$pin" = split ] && continue
                    transport=inproc
                fi
                [ "$pin" = split ] && [ "$transport" = inproc ] && continue
                for size in "${sizes[@]}"; do
                    if [ "$pin" != free ] && ! contains "$size" "${pin_sizes[@]}"; then continue; fi
                    # The proxy's HWMs of 10000 on 5 queues would hold GBs of large messages.
                    if [ "$kind" = proxy ] && [ "$FULL" = 0 ] && [ "$size" -gt 1024 ]; then continue; fi
                    run_cell "$kind" "$pattern" "$transport" "$pin" "$size"
                done
            done
        done
    done
}

# --- instructions and syscalls per message ---------------------------------------------------

sum_callgrind() { # prefix -> total Ir of all processes
    local f total=0 v
    for f in "$1".*; do
        [ -f "$f" ] || continue
        v=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$f" | head -n 1)
        [ -n "$v" ] || v=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$f" | head -n 1)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}
sum_strace() { # prefix -> total syscalls of all processes
    local f total=0 v
    for f in "$1".*; do
        [ -f "$f" ] || continue
        v=$(awk '$NF == "total" { print $4 }' "$f" | tail -n 1)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# Per message: the difference between a run of 2N and a run of N messages, divided by N, so
# that start-up and shutdown cancel out.
profile_cell() { # pattern-spec transport size
    local spec=$1 transport=$2 size=$3 kind pattern n lib dir tool runs1 runs2 v1 v2 per line
    kind=${spec%%-*} pattern=${spec#*-}
    case $kind:$size in
        lat:*) n=300 ;;
        *:1048576) n=100 ;;
        *:65536) n=1000 ;;
        *) n=10000 ;;
    esac
    line=$(printf '%-9s %-8s %-6s %8s' "$kind" "$pattern" "$transport" "$size")
    for tool in callgrind strace; do
        if [ "$tool" = callgrind ]; then command -v valgrind >/dev/null || continue
        else command -v strace >/dev/null || continue; fi
        for lib in ours libzmq; do
            key=$kind:$pattern:$transport:free:$lib
            [ "$lib" = ours ] && dir=$OURS || dir=$REF
            R_RSS=""
            if [ -n "${BROKEN[$key]:-}" ]; then
                R_STATUS=skipped R_DETAIL="after: ${BROKEN[$key]}"
            else
                rm -f "$TMPD"/prof.*
                run_test "$kind" "$pattern" "$transport" free "$size" "$dir" "$n" "$tool:$TMPD/prof.a"
                if [ "$R_STATUS" = ok ]; then
                    run_test "$kind" "$pattern" "$transport" free "$size" "$dir" $((2 * n)) "$tool:$TMPD/prof.b"
                fi
            fi
            per=""
            if [ "$R_STATUS" = ok ]; then
                if [ "$tool" = callgrind ]; then
                    v1=$(sum_callgrind "$TMPD/prof.a"); v2=$(sum_callgrind "$TMPD/prof.b")
                else
                    v1=$(sum_strace "$TMPD/prof.a"); v2=$(sum_strace "$TMPD/prof.b")
                fi
                per=$(awk -v a="$v1" -v b="$v2" -v n="$n" 'BEGIN { d = (b - a) / n; if (d <= 0) d = b / (2 * n); printf "%.2f", d }')
                line+=" $tool.$lib=$per"
            else
                line+=" $tool.$lib=$R_STATUS"
            fi
            R_RSS="" R_RTT=""
            if [ "$tool" = callgrind ]; then
                record instr "$pattern" "$transport" free "$size" "$lib" 1 "$n" "$per" Ir
            else
                record syscalls "$pattern" "$transport" free "$size" "$lib" 1 "$n" "$per" calls
            fi
        done
    done
    say "$line"
}

profiles() {
    local c spec transport size
    for c in "${profile_cells[@]}"; do
        IFS=: read -r spec transport size <<<"$c"
        profile_cell "$spec" "$transport" "$size"
    done
}

# --- quick mode: does every tool run? --------------------------------------------------------

QUICK_PASSED=0 QUICK_FAILED=0 QUICK_RETRIED=0
quick_check() { # kind pattern transport
    local kind=$1 pattern=$2 transport=$3 lib size=64 count name note
    count=$(count_for "$kind" "$transport" "$size")
    for lib in ours libzmq; do
        [ "$kind" = plain ] && [ "$lib" = libzmq ] && continue
        run_lib_test "$lib" "$kind" "$pattern" "$transport" free "$size" "$count"
        QUICK_RETRIED=$((QUICK_RETRIED + R_TRIES - 1)) note=""
        [ "$R_STATUS" = ok ] && [ "$R_TRIES" -gt 1 ] && note=" (libzmq hung, passed on try $R_TRIES)"
        record "$kind" "$pattern" "$transport" free "$size" "$lib" 1 "$count" "$R_VALUE" ""
        name=$(printf '%-6s %-8s %-6s %-6s' "$kind" "$pattern" "$transport" "$lib")
        if [ "$R_STATUS" = ok ] && [ "$AW_HUNG" = 1 ]; then
            say "FAIL $name $(human "$kind" "$R_VALUE") but $R_DETAIL"
            QUICK_FAILED=$((QUICK_FAILED + 1))
        elif [ "$R_STATUS" = ok ]; then
            say "PASS $name $(human "$kind" "$R_VALUE")$note"
            QUICK_PASSED=$((QUICK_PASSED + 1))
        else
            say "FAIL $name $R_STATUS: $R_DETAIL"
            QUICK_FAILED=$((QUICK_FAILED + 1))
        fi
    done
}

quick() {
    local t
    for t in tcp ipc; do
        quick_check thr pushpull "$t"
        quick_check thr pubsub "$t"
        quick_check lat reqrep "$t"
        quick_check plain pushpull "$t"
    done
    quick_check thr pushpull inproc
    quick_check thr pubsub inproc
    quick_check lat reqrep inproc
    quick_check proxy pushpull inproc
    quick_check proxy xpubxsub inproc
    say "perf: $QUICK_PASSED passed, $QUICK_FAILED failed"
    [ "$QUICK_RETRIED" -gt 0 ] && say "($QUICK_RETRIED libzmq runs hung and were tried again)"
    [ "$QUICK_FAILED" = 0 ]
}

# --- main ------------------------------------------------------------------------------------

setup
build
{
    echo "date: $(date -Is)"
    echo "host: $(uname -srm), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "ours: $OURS_LIB ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- src include Cargo.toml Cargo.lock build.rs 2>/dev/null || echo ', library sources modified'))"
    echo "libzmq: $REF_LIB ($REF_VERSION)"
    echo "options: quick=$QUICK full=$FULL runs=$RUNS transports=$TRANSPORTS sizes=$SIZES patterns=$PATTERNS pins=${pins[*]} pin-sizes=$PIN_SIZES scale=$SCALE timeout=$TIMEOUT profile=$PROFILE"
} >"$OUT/meta.txt"
say "results: $OUT"

if [ "$QUICK" = 1 ]; then
    quick
    exit $?
fi

START=$SECONDS
say "== throughput (msg/s) and one-way p50 latency (us), medians of $RUNS runs, ours and libzmq alternating"
matrix
if [ "$PROFILE" = 1 ]; then
    say "== instructions (callgrind, user space) and syscalls (strace -f) per message, both ends"
    profiles
fi
say "== done in $((SECONDS - START)) s"
echo
report_args=("$OUT")
[ "$CHARTS" = 1 ] || report_args+=(--no-charts)
"$PY" "$ROOT/perf/bench_report.py" "${report_args[@]}"
say "results: $OUT"
