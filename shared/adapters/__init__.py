"""The only code that imports google.cloud or speaks to Google's APIs: Firestore (over its
gRPC API), Pub/Sub, Storage, auth, providers."""
