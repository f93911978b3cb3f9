"""How two names are compared, in one place: client names, card titles, sheet headers and
tab titles, approver names, picklist values.

People type names on different keyboards and systems store them in different Unicode forms:
"Crème" may arrive composed (one code point per letter, NFC) from Salesforce and decomposed
("e" + a combining accent, NFD) from a Trello title pasted on a Mac. Case and runs of spaces
differ too. Every comparison of names goes through `name_key`, on both sides, so no module keeps
its own slightly different idea of "the same name".

Identifiers (Salesforce ids, request ids) are not names: their case is significant (an 18-character
id encodes the case of the 15-character one), so `id_key` only normalises the form and the
spaces around them.
"""

from __future__ import annotations

import unicodedata


def name_key(text: str) -> str:
    """The form two names are compared in: NFC, case-folded (then NFC again, since folding may
    decompose), whitespace runs collapsed to one space, trimmed."""
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    return " ".join(folded.split())


def id_key(text: str) -> str:
    """An identifier as written in a cell or field: NFC and trimmed, case kept."""
    return unicodedata.normalize("NFC", text).strip()


def display_name(text: str) -> str:
    """A name as shown to people (messages, comments): NFC, spaces collapsed, case kept."""
    return " ".join(unicodedata.normalize("NFC", text).split())
