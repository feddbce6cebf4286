"""Running a pyudf job on a Ray cluster."""
