"""Trello: archive a cancelled client's cards, with a comment saying why.

`connector` (I/O through py-trello), `match` (pure matching of cards to a client).
May import what `connectors` may.
"""
