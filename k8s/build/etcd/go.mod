module chaosrun.local/k8sbuild/etcd

go 1.26.0

// etcd's own go.mod replaces its sibling modules with local paths, so it cannot be built with
// `go install pkg@version`; required from here, those replacements are ignored.
require (
	go.etcd.io/etcd/server/v3 v3.7.3
	go.etcd.io/etcd/api/v3 v3.7.3
	go.etcd.io/etcd/client/pkg/v3 v3.7.3
	go.etcd.io/etcd/client/v3 v3.7.3
	go.etcd.io/etcd/pkg/v3 v3.7.3
)
