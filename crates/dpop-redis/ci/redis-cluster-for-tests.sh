# shellcheck shell=bash
# Starts a throw-away three-primary Redis Cluster for the dpop-redis cluster tests and the fleet
# tests.
#
# SOURCE it (do not execute it) from bash AFTER redis-for-tests.sh (whose helpers it uses and
# which installs redis-server), then stop the cluster on exit:
#
#     source crates/dpop-redis/ci/redis-for-tests.sh
#     source crates/dpop-redis/ci/redis-cluster-for-tests.sh
#     trap 'stop_test_redis_cluster; stop_test_redis' EXIT
#
# Each node listens on a free port of 127.0.0.1, without persistence, in its own directory under
# one scratch directory; `redis-cli --cluster create` gives each a third of the slots. It waits
# until every node reports cluster_state:ok (20 s at most) and exports:
#
#     DPOP_TEST_REDIS_CLUSTER_URLS   redis://127.0.0.1:P1/,redis://127.0.0.1:P2/,...
#     DPOP_REDIS_CLUSTER_PIDS        the nodes' pids, space-separated
#     DPOP_REDIS_CLUSTER_DIR         the scratch directory (node logs are there)
#
# and defines stop_test_redis_cluster, which kills the nodes by pid and removes the directory.
# On failure it prints why and returns non-zero.

_dpop_cluster_log() { printf 'redis-cluster-for-tests: %s\n' "$*" >&2; }

stop_test_redis_cluster() {
    local pid
    for pid in ${DPOP_REDIS_CLUSTER_PIDS:-}; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    DPOP_REDIS_CLUSTER_PIDS=""
    if [ -n "${DPOP_REDIS_CLUSTER_DIR:-}" ]; then
        rm -rf "$DPOP_REDIS_CLUSTER_DIR" || true
        DPOP_REDIS_CLUSTER_DIR=""
    fi
    return 0
}

start_test_redis_cluster() {
    if ! declare -F _dpop_redis_free_port >/dev/null; then
        _dpop_cluster_log "source redis-for-tests.sh first"
        return 1
    fi
    command -v redis-cli >/dev/null 2>&1 || { _dpop_cluster_log "redis-cli is missing"; return 1; }
    DPOP_REDIS_CLUSTER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dpop-redis-cluster.XXXXXX") || return 1
    export DPOP_REDIS_CLUSTER_DIR
    DPOP_REDIS_CLUSTER_PIDS=""
    local nodes=() urls=() port dir _ i
    for i in 1 2 3; do
        # The cluster bus listens on port + 10000, so the port must be at most 55535.
        port=""
        for _ in $(seq 1 50); do
            port=$(_dpop_redis_free_port) || { _dpop_cluster_log "no free port"; return 1; }
            if [ "$port" -le 55535 ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$((port + 10000))") 2>/dev/null; then
                break
            fi
            port=""
        done
        [ -n "$port" ] || { _dpop_cluster_log "no free port pair"; return 1; }
        dir="$DPOP_REDIS_CLUSTER_DIR/node$i"
        mkdir -p "$dir"
        redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize no \
            --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
            --dir "$dir" --logfile "$dir/redis.log" </dev/null >/dev/null 2>&1 &
        DPOP_REDIS_CLUSTER_PIDS="$DPOP_REDIS_CLUSTER_PIDS $!"
        for _ in $(seq 1 100); do
            _dpop_redis_ping "$port" && break
            sleep 0.1
        done
        if ! _dpop_redis_ping "$port"; then
            _dpop_cluster_log "node on port $port did not answer PING; its log:"
            tail -n 20 "$dir/redis.log" >&2 2>/dev/null
            stop_test_redis_cluster
            return 1
        fi
        nodes+=("127.0.0.1:$port")
        urls+=("redis://127.0.0.1:$port/")
    done
    export DPOP_REDIS_CLUSTER_PIDS
    if ! redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
        >"$DPOP_REDIS_CLUSTER_DIR/create.log" 2>&1; then
        _dpop_cluster_log "cluster create failed:"
        tail -n 20 "$DPOP_REDIS_CLUSTER_DIR/create.log" >&2
        stop_test_redis_cluster
        return 1
    fi
    local node ok
    for _ in $(seq 1 200); do
        ok=1
        for node in "${nodes[@]}"; do
            redis-cli -h 127.0.0.1 -p "${node#*:}" cluster info 2>/dev/null \
                | grep -q 'cluster_state:ok' || ok=0
        done
        [ "$ok" = 1 ] && break
        sleep 0.1
    done
    if [ "$ok" != 1 ]; then
        _dpop_cluster_log "the cluster did not reach cluster_state:ok"
        stop_test_redis_cluster
        return 1
    fi
    DPOP_TEST_REDIS_CLUSTER_URLS=$(IFS=,; echo "${urls[*]}")
    export DPOP_TEST_REDIS_CLUSTER_URLS
    _dpop_cluster_log "3 primaries at $DPOP_TEST_REDIS_CLUSTER_URLS (pids$DPOP_REDIS_CLUSTER_PIDS)"
    return 0
}

start_test_redis_cluster
