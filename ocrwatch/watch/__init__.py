"""The daemon: watch folders, let files settle, queue them in the index, read them in worker processes."""
