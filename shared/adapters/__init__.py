"""The only code that imports google.cloud: Firestore, Pub/Sub, Storage, auth, providers."""
