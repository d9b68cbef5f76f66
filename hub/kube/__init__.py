"""Kubernetes mode: KubeSpawner glue, rendered objects, helm values checks."""
