"""Kubernetes manifests -> ComputeRequests priced as each pod's share of the node it needs.

`reader` turns YAML (files, Helm output, admission objects) into requests; `nodes` chooses the node
a pod lands on and its share of it, for `tollgate.engine.pricing`.
"""
