"""A Ray test cluster of separate processes on this host (ray.cluster_utils), for machines without network namespaces.

Started by test/support/ray-cluster.ts with a JSON config as its only argument. Each node is started with
PYUDF_RAY_TEST_NODE set to its marker, which its raylet, agents and workers inherit: that is how the test
finds every process of a node. Prints one JSON line (the address and nodes), then holds the cluster until its
standard input closes (the test stopped it, or the test process died), and shuts it down.
"""

import json
import os
import sys

from ray.cluster_utils import Cluster


def main() -> None:
    config = json.loads(sys.argv[1])
    os.environ["PYUDF_RAY_TEST_NODE"] = config["markers"][0]
    cluster = Cluster(
        initialize_head=True,
        shutdown_at_exit=True,
        head_node_args={
            "num_cpus": 0,
            "object_store_memory": config["objectStoreBytes"],
            "include_dashboard": False,
            "temp_dir": config["tempDir"],
            "_system_config": config["systemConfig"],
        },
    )
    nodes = [{"name": "head", "ip": cluster.head_node.node_ip_address}]
    for index, marker in enumerate(config["markers"][1:]):
        os.environ["PYUDF_RAY_TEST_NODE"] = marker
        node = cluster.add_node(num_cpus=config["workerCpus"], object_store_memory=config["objectStoreBytes"])
        nodes.append({"name": f"worker{index}", "ip": node.node_ip_address})
    os.environ["PYUDF_RAY_TEST_NODE"] = config["markers"][0]
    cluster.wait_for_nodes()
    print(json.dumps({"address": cluster.gcs_address, "nodes": nodes}), flush=True)
    try:
        sys.stdin.read()
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
