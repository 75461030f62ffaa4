"""The k8s lab profile: a real control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler), kwok nodes in two zones, and real processes behind the simulated pods."""
