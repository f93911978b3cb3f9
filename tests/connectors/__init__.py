"""Each connector against its emulator through the real client library, and the
recorded-HTTP (cassette) tests."""
