"""Code every Patungan Cloud Function ships with (domain, services, adapters)."""
