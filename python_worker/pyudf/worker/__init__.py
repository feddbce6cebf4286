"""The worker process: a gRPC server that loads a job's functions and runs batches."""
