# shellcheck shell=bash
# Starts a throw-away redis-server for the dpop-redis integration tests.
#
# SOURCE it (do not execute it) from bash, then stop the server on exit:
#
#     source crates/dpop-redis/ci/redis-for-tests.sh
#     trap stop_test_redis EXIT
#     cargo test -p dpop-redis
#
# It installs redis-server with apt-get when it is not on PATH, starts it on a free port of
# 127.0.0.1 without persistence, in a scratch directory, waits for PONG (10 s at most), and
# exports:
#
#     DPOP_TEST_REDIS_URL   redis://127.0.0.1:PORT/
#     DPOP_REDIS_PID        the server's pid
#     DPOP_REDIS_DIR        its scratch directory (redis.log is there)
#
# and defines stop_test_redis, which kills the server and removes the directory. On failure it
# prints why and returns non-zero (so `set -e` callers stop). It leaves the caller's shell
# options and traps alone. redis-server (for the tests' own servers) stays on PATH.

_dpop_redis_log() { printf 'redis-for-tests: %s\n' "$*" >&2; }

_dpop_redis_install() {
    command -v redis-server >/dev/null 2>&1 && return 0
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
            _dpop_redis_log "redis-server is not installed and this is not root"
            return 1
        fi
    fi
    _dpop_redis_log "installing redis-server with apt-get"
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null; then
        _dpop_redis_log "apt-get install failed; running apt-get update and trying again"
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || return 1
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null \
            || return 1
    fi
    command -v redis-server >/dev/null 2>&1
}

_dpop_redis_free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    # No python3: probe random high ports; a refused connection means nobody listens there.
    local port _
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

_dpop_redis_ping() {
    local port=$1 reply
    if command -v redis-cli >/dev/null 2>&1; then
        reply=$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) || return 1
    else
        reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'PING\r\n' >&3 && timeout 1 head -c 7 <&3) 2>/dev/null) \
            || return 1
    fi
    [[ $reply == *PONG* ]]
}

# Starts one server on $1; succeeds once it answers PONG.
_dpop_redis_start_on() {
    local port=$1 dir=$2 _
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize no \
        --dir "$dir" --logfile "$dir/redis.log" </dev/null >/dev/null 2>&1 &
    DPOP_REDIS_PID=$!
    for _ in $(seq 1 100); do
        if _dpop_redis_ping "$port"; then return 0; fi
        kill -0 "$DPOP_REDIS_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill "$DPOP_REDIS_PID" 2>/dev/null
    wait "$DPOP_REDIS_PID" 2>/dev/null
    _dpop_redis_log "redis-server on port $port did not answer PING; its log:"
    tail -n 20 "$dir/redis.log" >&2 2>/dev/null
    return 1
}

stop_test_redis() {
    if [ -n "${DPOP_REDIS_PID:-}" ]; then
        kill "$DPOP_REDIS_PID" 2>/dev/null || true
        wait "$DPOP_REDIS_PID" 2>/dev/null || true
        DPOP_REDIS_PID=""
    fi
    if [ -n "${DPOP_REDIS_DIR:-}" ]; then
        rm -rf "$DPOP_REDIS_DIR" || true
        DPOP_REDIS_DIR=""
    fi
    return 0
}

start_test_redis() {
    _dpop_redis_install || { _dpop_redis_log "could not install redis-server"; return 1; }
    DPOP_REDIS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dpop-redis.XXXXXX") || return 1
    export DPOP_REDIS_DIR
    local _ port
    # Another process may take the port between the probe and the bind: try a few.
    for _ in 1 2 3; do
        port=$(_dpop_redis_free_port) || { _dpop_redis_log "no free port"; return 1; }
        if _dpop_redis_start_on "$port" "$DPOP_REDIS_DIR"; then
            export DPOP_REDIS_PID
            export DPOP_TEST_REDIS_URL="redis://127.0.0.1:$port/"
            _dpop_redis_log "$(redis-server --version | cut -d' ' -f1-3) pid $DPOP_REDIS_PID at $DPOP_TEST_REDIS_URL"
            return 0
        fi
    done
    DPOP_REDIS_PID=""
    stop_test_redis
    return 1
}

start_test_redis
