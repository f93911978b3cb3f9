"""Trello: the REST v1 wire format the real py-trello talks to.

May import what `connectors.emulators` may.
"""
