"""Provisioning of the local stack (Kafka, Elasticsearch, Redis and the Warta processes) without Docker."""
