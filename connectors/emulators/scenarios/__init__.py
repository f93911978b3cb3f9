"""Scenarios: a whole agency as one JSON file (beside this code), and the code that builds it.

`scenario` (load a file, resolve its dates, build the small agency), `production` (the
production-like agency generated from a few lines). May import what `connectors.emulators` may.
"""
