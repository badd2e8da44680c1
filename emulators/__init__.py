"""Local, wire-compatible stand-ins for Firestore, Pub/Sub and Cloud Storage."""
