"""Reference pipelines the benchmark compares the trainer with (run in their own environments)."""
