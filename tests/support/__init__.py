"""What the tests share: fixtures (pytest plugins, one module per system), the cassette
plugin, and the helpers of the reliability and undo tests."""
