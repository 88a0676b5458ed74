#!/bin/sh
# The Kafka image's entry point, built from the same jars as the local backend (chaos/infra/install.py).
# It takes its configuration the way the official apache/kafka image does, so docker-compose.yml and
# the docker backend drive either image the same way:
#   KAFKA_A_B__C___D=v  ->  a.b_c-d=v  in server.properties   (KAFKA_*_OPTS are JVM options, not settings)
#   CLUSTER_ID          ->  the id the data folder is formatted with, once (when it has no meta.properties)
# With arguments, it runs them instead (e.g. `java -cp '/opt/kafka/libs/*' kafka.tools.StorageTool ...`).
set -eu
if [ "$#" -gt 0 ]; then
    exec "$@"
fi
: "${CLUSTER_ID:?CLUSTER_ID is not set: the data folder cannot be formatted without it}"
config="${TMPDIR:-/tmp}/server.properties"
: > "$config"
chmod 600 "$config"   # with SASL on, it holds the brokers' static passwords
env | while IFS= read -r line; do
    name=${line%%=*}
    value=${line#*=}
    case "$name" in
        KAFKA_*_OPTS|KAFKA_OPTS) ;;   # JVM options, read below
        KAFKA_*)
            key=$(printf '%s' "${name#KAFKA_}" | tr 'A-Z' 'a-z' \
                  | sed -e 's/___/-/g' -e 's/__/\x01/g' -e 's/_/./g' -e 's/\x01/_/g')
            printf '%s=%s\n' "$key" "$value" >> "$config" ;;
    esac
done
data=$(sed -n 's/^log\.dirs=//p' "$config" | cut -d, -f1)
: "${data:?KAFKA_LOG_DIRS is not set: the broker has nowhere to keep its data}"
classpath='/opt/kafka/libs/*'
log4j="-Dlog4j2.configurationFile=/opt/kafka/log4j2.properties"
# shellcheck disable=SC2086 # the *_OPTS are lists of JVM options, split on purpose
if [ ! -f "$data/meta.properties" ]; then
    echo "[launch] formatting $data for cluster $CLUSTER_ID"
    java ${KAFKA_HEAP_OPTS:-} "$log4j" -cp "$classpath" kafka.tools.StorageTool format --ignore-formatted \
        -t "$CLUSTER_ID" -c "$config"
fi
# shellcheck disable=SC2086
exec java ${KAFKA_HEAP_OPTS:-} ${KAFKA_JVM_PERFORMANCE_OPTS:-} ${KAFKA_OPTS:-} "$log4j" -cp "$classpath" kafka.Kafka "$config"
