"""chaosrun's Kubernetes side: undo entries for every change an experiment makes through
chaostoolkit-kubernetes (`guard`), the kinds that revert them (`changes`), and the actions and
probes chaosk8s lacks (`actions`, `probes`)."""
