"""Running pyudf jobs on a Ray cluster."""
