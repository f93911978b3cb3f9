"""The emulators held to the services: wire format, schemas, Google's discovery document."""
