"""Each function's settings class, one module per function of shared/topology.py."""
