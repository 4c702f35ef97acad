"""GPU fleet and telecom CNF readers: GPU health, the PTP board, SR-IOV/DPDK, CNF
workloads, drift."""
