"""Pinned versions of the infrastructure the local stack provisions.

The docker-compose file uses the same versions (a test checks that they agree).
"""

KAFKA_VERSION = "4.1.1"
SCALA_VERSION = "2.13"
LOG4J_VERSION = "2.24.3"
ES_VERSION = "9.2.0"
REDIS_MAJOR = "7"

KAFKA_ARTIFACT = f"org.apache.kafka:kafka_{SCALA_VERSION}:{KAFKA_VERSION}"
ES_ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"

# Heaps sized for a 2-core, 24 GiB machine shared with the Python processes.
KAFKA_HEAP = "512m"
ES_HEAP = "1g"
# The cluster stack (`warta stack up --cluster`): three brokers at KAFKA_HEAP and three
# Elasticsearch nodes at this heap each, next to the single-node stack.
ES_CLUSTER_HEAP = "768m"
